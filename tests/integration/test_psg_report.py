"""The PSG report over the demo year: quarters add up to the year, every breakdown's
totals are the sum of its groups and the whole, compare-previous words follow the
numbers, and the drill-down lists exactly the misses, by case reference only."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from casewatch.reports.sla import GROUPINGS, OUTCOMES
from tests.cli import casewatch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo" / "events.jsonl"
AS_OF = ("--as-of", "2015-09-30")
QUARTERS = ("2014-Q1", "2014-Q2", "2014-Q3", "2014-Q4")
COUNTED = (*OUTCOMES, "cohort")


def demo(db_url: str) -> None:
    result = casewatch("import", str(DEMO), db=db_url)
    assert result.exit_code == 0, result.stdout[:2000]


def report(db_url: str, *args: str) -> dict[str, Any]:
    result = casewatch("report", "sla", *args, *AS_OF, db=db_url)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def tally(entries: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Per policy: every outcome count and every reason count, summed over entries (a
    policy with an empty cohort, absent from a breakdown, adds nothing)."""
    sums: dict[str, Counter[str]] = {}
    for entry in entries:
        if not entry["cohort"]:
            continue
        counter = sums.setdefault(entry["policy"], Counter())
        counter.update({k: entry[k] for k in COUNTED})
        counter.update({f"breach:{r}": n for r, n in entry["breach_reasons"].items()})
        counter.update({f"exclusion:{r}": n for r, n in entry["exclusion_reasons"].items()})
    return sums


def test_quarters_and_breakdowns_add_up(db_url: str) -> None:
    """The four quarters sum to the year, `--by quarter` agrees with each quarter on its
    own, and for every breakdown the totals equal both the sum of the groups and the
    report without a breakdown."""
    demo(db_url)
    year = report(db_url, "--period", "FY2014")
    assert (year["period"], year["from"], year["to"]) == ("FY2014", "2014-04-01", "2015-03-31")
    assert sum(e["cohort"] for e in year["slas"]) > 200
    whole = tally(year["slas"])

    quarters = [report(db_url, "--period", q) for q in QUARTERS]
    assert tally([e for q in quarters for e in q["slas"]]) == whole

    by_quarter = report(db_url, "--period", "FY2014", "--by", "quarter")
    for label, alone in zip(QUARTERS, quarters, strict=True):
        grouped = [e for e in by_quarter["slas"] if e["quarter"] == label]
        assert tally(grouped) == tally([e for e in alone["slas"] if e["cohort"]])

    for by in GROUPINGS:
        grouped = report(db_url, "--period", "FY2014", "--by", by)
        assert all(by in entry for entry in grouped["slas"]), by
        assert len({entry[by] for entry in grouped["slas"]}) >= 2, by
        assert tally(grouped["slas"]) == whole, by
        assert tally(grouped["totals"]) == whole, by
        for total, plain in zip(grouped["totals"], year["slas"], strict=True):
            assert total == plain, by


def test_compare_previous_and_drill_down(db_url: str) -> None:
    """Each direction follows its own numbers; the drill-down holds every breached and
    excluded cycle with its reason, and no victim detail appears anywhere."""
    demo(db_url)
    q2 = report(db_url, "--period", "2014-Q2", "--compare", "previous", "--details")
    assert "misses" not in report(db_url, "--period", "2014-Q2")  # JSON: only when asked
    q1 = report(db_url, "--period", "2014-Q1")
    assert q2["previous"] == {"period": "2014-Q1", "from": "2014-04-01", "to": "2014-06-30"}
    before = {e["policy"]: e for e in q1["slas"]}
    words = Counter()
    for entry in q2["slas"]:
        earlier = before[entry["policy"]]
        if entry["pct"] is None:  # the demo has no case reviews: nothing to compare
            assert entry["change"] is None
            continue
        assert entry["previous"] == {k: earlier[k] for k in entry["previous"]}
        change = round(entry["pct"] - earlier["pct"], 1)
        assert entry["change"] == change
        expected = "better" if change > 0 else "worse" if change < 0 else "no change"
        assert entry["direction"] == expected
        words[expected] += 1
    conference = next(e for e in q2["slas"] if e["policy"] == "asb-high-risk-conference")
    assert (conference["pct"], conference["change"], conference["direction"]) == (
        81.8,
        1.8,
        "better",
    )
    assert len(words) >= 2  # the demo quarter has targets that moved each way

    misses = q2["misses"]
    for entry in q2["slas"]:
        mine = [m for m in misses if m["policy"] == entry["policy"]]
        assert len(mine) == entry["breached"] + entry["excluded"]
        reasons = Counter(m["reason"] for m in mine if m["outcome"] == "breached")
        assert reasons == Counter(entry["breach_reasons"])
        assert all(m["case_id"] and m["due_at"] for m in mine)
        late = [m for m in mine if m["outcome"] == "breached"]
        assert all(m["days_late"] > 0 for m in late)

    details: set[str] = set()
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        details.update(json.loads(line).get("victim", {}).values())
    text = json.dumps(q2, ensure_ascii=False)
    assert details and not [d for d in details if d in text]
