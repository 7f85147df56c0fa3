"""`casewatch whatif`: hand-derived flips at the boundaries, refusals in `rules check`'s
words, and a database left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from casewatch.reports.whatif import Period
from casewatch.service import replay
from casewatch.service.runtime import open_runtime
from casewatch.service.whatif import load_proposal, run_whatif
from tests.builders import assessed, ev, jsonl, opened
from tests.cli import casewatch
from tests.databases import fingerprint

SHIPPED = Path(__file__).resolve().parents[2] / "casewatch" / "config" / "policies.yaml"


def load(db_url: str, path: Path, lines: list[Any]) -> None:
    path.write_bytes(jsonl(lines))
    result = casewatch("import", str(path), db=db_url)
    assert result.exit_code == 0, result.stdout + result.stderr


def proposal(folder: Path, policy: str, **changes: str) -> Path:
    """A proposal folder whose policies.yaml is the shipped one with one policy's lines
    changed: `target="{days: 7, kind: calendar}"` and the like."""
    text = SHIPPED.read_text(encoding="utf-8")
    head, rest = text.split(f"- id: {policy}\n", 1)
    entry, sep, tail = rest.partition("\n\n")
    for name, value in changes.items():
        entry = re.sub(rf"(?m)^(\s+){name}: .*$", rf"\g<1>{name}: {value}", entry)
    folder.mkdir(exist_ok=True)
    (folder / "policies.yaml").write_text(f"{head}- id: {policy}\n{entry}{sep}{tail}")
    return folder


def whatif(db_url: str, *args: str) -> dict[str, Any]:
    result = casewatch("whatif", *args, db=db_url)
    assert result.exit_code == 0, result.stdout + result.stderr
    report: dict[str, Any] = result.json()
    return report


def entry(report: dict[str, Any], policy: str) -> dict[str, Any]:
    [found] = [e for e in report["slas"] if e["policy"] == policy]
    return found


def figures(cohort: int, met: int, breached: int, pct: float | None, rag: str | None) -> Any:
    return {
        "cohort": cohort,
        "met": met,
        "breached": breached,
        "excluded": 0,
        "cancelled": 0,
        "open": 0,
        "pct": pct,
        "rag": rag,
    }


def test_met_at_six_days_flips_from_breached_to_met_under_seven(
    db_url: str, tmp_path: Path
) -> None:
    """A conference 6 days after risk went high misses 5 calendar days and meets 7."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00", team="north"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("case_conference_held", "C1", "2014-06-08T10:00:00+01:00"),
        ],
    )
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 7, kind: calendar}"
    )
    report = whatif(db_url, "--config", str(folder), "--from", "2014-06-01", "--to", "2014-06-30",
                    "--as-of", "2014-07-31")  # fmt: skip
    assert report["from"] == "2014-06-01"
    assert report["to"] == "2014-06-30"
    assert report["as_of"] == "2014-07-31T00:00:00+01:00"
    assert report["changes"] == [
        "asb-high-risk-conference: target 5 calendar days -> 7 calendar days"
    ]
    conference = entry(report, "asb-high-risk-conference")
    assert conference == {
        "policy": "asb-high-risk-conference",
        "current": figures(1, 0, 1, 0.0, "red"),
        "proposed": figures(1, 1, 0, 100.0, "green"),
        "change": 100.0,
        "flipped": [{"case_id": "C1", "cycle": 1, "from": "breached", "to": "met"}],
    }
    # The reduction cycle never stopped: breached on both sides, so nothing flipped.
    reduction = entry(report, "asb-high-risk-reduction")
    assert reduction["current"] == reduction["proposed"] == figures(1, 0, 1, 0.0, "red")
    assert reduction["change"] == 0.0
    assert reduction["flipped"] == []
    assert entry(report, "da-high-risk-idva-contact")["current"] == figures(0, 0, 0, None, None)


def test_working_days_skip_the_easter_bank_holidays(db_url: str, tmp_path: Path) -> None:
    """Risk high on Thursday 17 April 2014: Good Friday and Easter Monday are not working
    days, so 2 working days fall due on Wednesday 23rd and 3 on Thursday 24th at 10:00;
    IDVA contact at 09:00 on the 24th flips to met, and 3 calendar days (Sunday 20th)
    would still miss."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("D1", "2014-04-17T09:00:00+01:00", case_type="domestic_abuse", team="da"),
            assessed("D1", "2014-04-17T10:00:00+01:00", "high", matrix="dash"),
            ev("referral_made", "D1", "2014-04-17T11:00:00+01:00", to="marac"),
            ev("idva_contact_made", "D1", "2014-04-24T09:00:00+01:00"),
        ],
    )
    period = ("--period", "2014-Q1", "--as-of", "2014-06-30")
    working = proposal(
        tmp_path / "w", "da-high-risk-idva-contact", target="{days: 3, kind: working}"
    )
    idva = entry(whatif(db_url, "--config", str(working), *period), "da-high-risk-idva-contact")
    assert idva["current"] == figures(1, 0, 1, 0.0, "red")
    assert idva["proposed"] == figures(1, 1, 0, 100.0, "green")
    assert idva["flipped"] == [{"case_id": "D1", "cycle": 1, "from": "breached", "to": "met"}]
    calendar = proposal(
        tmp_path / "c", "da-high-risk-idva-contact", target="{days: 3, kind: calendar}"
    )
    report = whatif(db_url, "--config", str(calendar), *period)
    assert report["changes"] == [
        "da-high-risk-idva-contact: target 2 working days -> 3 calendar days"
    ]
    idva = entry(report, "da-high-risk-idva-contact")
    assert idva["proposed"] == figures(1, 0, 1, 0.0, "red")
    assert idva["flipped"] == []
    marac = entry(report, "da-high-risk-marac-referral")
    assert marac["current"] == marac["proposed"] == figures(1, 1, 0, 100.0, "green")


def test_a_pause_moves_the_proposed_due_time_too(db_url: str, tmp_path: Path) -> None:
    """Paused 2 days of a 5-day target, the conference at 5 days 2 hours of unpaused time
    misses 5 days (due Monday 9 June 10:00) and meets 6 (due Tuesday 10 June 10:00)."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("sla_paused", "C1", "2014-06-03T10:00:00+01:00",
               policy="asb-high-risk-conference", reason="victim in hospital"),
            ev("sla_resumed", "C1", "2014-06-05T10:00:00+01:00",
               policy="asb-high-risk-conference", reason="victim home"),
            ev("case_conference_held", "C1", "2014-06-09T12:00:00+01:00"),
        ],
    )  # fmt: skip
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 6, kind: calendar}"
    )
    report = whatif(db_url, "--config", str(folder), "--from", "2014-06-01", "--to", "2014-06-30",
                    "--as-of", "2014-06-09T12:00:00+01:00")  # fmt: skip
    conference = entry(report, "asb-high-risk-conference")
    assert conference["flipped"] == [{"case_id": "C1", "cycle": 1, "from": "breached", "to": "met"}]
    # As of a moment before the conference, the cycle is still open under 6 days.
    early = whatif(db_url, "--config", str(folder), "--from", "2014-06-01", "--to", "2014-06-30",
                   "--as-of", "2014-06-09T11:00:00+01:00")  # fmt: skip
    conference = entry(early, "asb-high-risk-conference")
    assert conference["current"]["breached"] == 1
    assert conference["proposed"]["open"] == 1
    assert conference["proposed"]["pct"] is None
    assert conference["change"] is None
    assert conference["flipped"] == [
        {"case_id": "C1", "cycle": 1, "from": "breached", "to": "open"}
    ]


def test_target_and_band_changes_rate_differently_by_team(db_url: str, tmp_path: Path) -> None:
    """Raising target % to 90 with a 2-point band turns 85.7% (6 of 7) from green to red;
    --by team gives one entry per team with a cohort, and a policy added on one side only
    reads null on the other."""
    lines: list[Any] = []
    for n in range(7):
        case = f"N{n}"
        lines += [
            opened(case, "2014-06-02T09:00:00+01:00", team="north"),
            assessed(case, "2014-06-02T10:00:00+01:00", "high"),
            ev("case_conference_held", case, f"2014-06-0{3 if n else 9}T10:00:00+01:00"),
        ]
    load(db_url, tmp_path / "a.jsonl", lines)
    folder = proposal(tmp_path / "p", "asb-high-risk-conference", target_pct="90", amber_band="2")
    report = whatif(db_url, "--config", str(folder), "--period", "2014-Q1", "--by", "team",
                    "--as-of", "2014-12-31")  # fmt: skip
    assert report["changes"] == [
        "asb-high-risk-conference: target % 85 -> 90",
        "asb-high-risk-conference: amber band 10 -> 2",
    ]
    assert [(e["team"], e["policy"]) for e in report["slas"]] == [
        ("north", "asb-high-risk-conference"),
        ("north", "asb-high-risk-reduction"),
    ]
    conference = report["slas"][0]
    assert conference["current"]["rag"] == "green"
    assert conference["current"]["pct"] == 85.7
    assert conference["proposed"]["rag"] == "red"
    assert conference["change"] == 0.0
    assert conference["flipped"] == []


def test_a_case_pinned_to_an_older_ruleset_is_replayed_under_the_proposal(
    db_url: str, tmp_path: Path
) -> None:
    """A case derived under a 3-day target stays pinned to it; the proposal (7 days)
    replays it from the start, as a fresh database would, not under its pinned rules."""
    old = proposal(tmp_path / "old", "asb-high-risk-conference", target="{days: 3, kind: calendar}")
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        jsonl(
            [
                opened("C1", "2014-06-02T09:00:00+01:00"),
                assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
                ev("case_conference_held", "C1", "2014-06-06T10:00:00+01:00"),
            ]
        )
    )
    imported = casewatch("--config", str(old), "import", str(path), db=db_url)
    assert imported.exit_code == 0, imported.stdout + imported.stderr
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 7, kind: calendar}"
    )
    report = whatif(db_url, "--config", str(folder), "--period", "2014-Q1", "--as-of", "2014-12-31")
    conference = entry(report, "asb-high-risk-conference")
    # Current: pinned to 3 days, 4 days taken: breached. Proposed: 7 days: met.
    assert conference["flipped"] == [{"case_id": "C1", "cycle": 1, "from": "breached", "to": "met"}]


def test_whatif_writes_nothing(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Every table (and, on SQLite, the file itself) is byte for byte the same after a
    what-if that replays late events, pinned cases and a changed rule file."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("case_conference_held", "C1", "2014-06-08T10:00:00+01:00"),
            opened("C2", "2014-06-03T09:00:00+01:00"),
            assessed("C2", "2014-06-03T10:00:00+01:00", "high"),
            ev("case_closed", "C2", "2014-09-01T10:00:00+01:00"),
        ],
    )
    before = fingerprint(engine)
    engine.dispose()
    file_digest = _sqlite_digest(db_url)
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 7, kind: calendar}"
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yaml").write_text(EXTRA_RULE)
    for by in ((), ("--by", "team")):
        whatif(db_url, "--config", str(folder), "--rules", str(rules), "--period", "2014-Q1",
               "--as-of", "2014-07-01", *by)  # fmt: skip
    assert _sqlite_digest(db_url) == file_digest
    assert fingerprint(engine) == before


EXTRA_RULE = """\
family: proposal
rules:
  - id: contact-counts-as-conference
    description: A visit stops the conference clock (a proposal).
    case_types: [asb]
    when:
      event: contact_attempted
      conditions:
        - {fact: contact_method, is: visit}
    then:
      - stop_cycle: asb-high-risk-conference
"""


def _sqlite_digest(db_url: str) -> str | None:
    if not db_url.startswith("sqlite"):
        return None
    return hashlib.sha256(Path(db_url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_a_proposed_rule_file_changes_which_cycles_stop(db_url: str, tmp_path: Path) -> None:
    """A proposed rule that lets a visit stop the conference clock meets a cycle whose
    only action within 5 days was a visit, and the change is named."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("contact_attempted", "C1", "2014-06-04T10:00:00+01:00", method="visit"),
            ev("case_conference_held", "C1", "2014-06-20T10:00:00+01:00"),
        ],
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yaml").write_text(EXTRA_RULE)
    report = whatif(db_url, "--rules", str(rules), "--period", "2014-Q1", "--as-of", "2014-12-31")
    assert report["changes"] == [
        f"rule contact-counts-as-conference: new rule ({rules / 'extra.yaml'}:3)"
    ]
    assert entry(report, "asb-high-risk-conference")["flipped"] == [
        {"case_id": "C1", "cycle": 1, "from": "breached", "to": "met"}
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "policies.yaml",
            SHIPPED.read_text(encoding="utf-8").replace(
                "    target_pct: 85\n", "    target_pct: 85\n    target_percent: 90\n", 1
            ),
        ),
        (
            "policies.yaml",
            SHIPPED.read_text(encoding="utf-8").replace(
                "case_types: [asb]", "case_types: [burglary]", 1
            ),
        ),
        ("asb.yaml", "family: asb\nrules:\n  - id: broken\n    description: x\n"),
    ],
    ids=["unknown-policy-field", "unknown-case-type", "invalid-rule-file"],
)
def test_an_invalid_proposal_is_refused_in_rules_check_words(
    db_url: str, engine: Engine, tmp_path: Path, name: str, text: str
) -> None:
    """Exit 1 with every problem worded exactly as `rules check` words it, file and line,
    and nothing run."""
    folder = tmp_path / "proposal"
    folder.mkdir()
    (folder / name).write_text(text)
    option = "--config" if name == "policies.yaml" else "--rules"
    checked = casewatch("rules", "check", str(folder / name), "--format", "json")
    assert checked.exit_code == 1
    problems = checked.json()["problems"]
    assert problems
    assert any(re.match(rf"{re.escape(str(folder / name))}:\d+", p) for p in problems)
    before = fingerprint(engine)
    refused = casewatch("whatif", option, str(folder), "--period", "2014-Q1", db=db_url)
    assert refused.exit_code == 1
    assert refused.json() == {"problems": problems}
    assert all(problem in refused.stderr for problem in problems)
    assert fingerprint(engine) == before


def test_whatif_needs_a_proposal_and_a_folder(db_url: str, tmp_path: Path) -> None:
    """Without --config or --rules, or with a folder that is not there, it is a usage
    error (exit 2)."""
    assert casewatch("whatif", "--period", "2014-Q1", db=db_url).exit_code == 2
    missing = casewatch("whatif", "--config", str(tmp_path / "nope"), "--period", "2014-Q1",
                        db=db_url)  # fmt: skip
    assert missing.exit_code == 2
    assert "--config" in missing.stderr


def test_csv_and_html_renderings(db_url: str, tmp_path: Path) -> None:
    """CSV has both sides' figures and the flipped cycles per entry; HTML shows them side by
    side; --output writes the file."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("case_conference_held", "C1", "2014-06-08T10:00:00+01:00"),
        ],
    )
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 7, kind: calendar}"
    )
    common = ("--config", str(folder), "--period", "2014-Q1", "--as-of", "2014-12-31")
    csv_out = casewatch("whatif", *common, "--format", "csv", db=db_url)
    assert csv_out.exit_code == 0
    header, first, *_ = csv_out.stdout.splitlines()
    assert header.startswith("policy,current_cohort,current_met,current_breached")
    assert first == (
        "asb-high-risk-conference,1,0,1,0,0,0,0.0,red,1,1,0,0,0,0,100.0,green,100.0,"
        "C1#1 breached->met"
    )
    page = tmp_path / "whatif.html"
    html = casewatch("whatif", *common, "--format", "html", "--output", str(page), db=db_url)
    assert html.exit_code == 0
    text = page.read_text()
    assert "target 5 calendar days -&gt; 7 calendar days" in text
    assert "C1 cycle 1: breached → met" in text


def test_the_board_pack_carries_an_optional_what_if(db_url: str, tmp_path: Path) -> None:
    """`report pack --whatif DIR` adds the section to the page and whatif.html/csv/json
    equal to `casewatch whatif`; an invalid proposal writes no pack and exits 1."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-06-02T09:00:00+01:00"),
            assessed("C1", "2014-06-02T10:00:00+01:00", "high"),
            ev("case_conference_held", "C1", "2014-06-08T10:00:00+01:00"),
        ],
    )
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 7, kind: calendar}"
    )
    period = ("--period", "2014-Q1", "--as-of", "2014-12-31")
    pack = tmp_path / "pack"
    made = casewatch("report", "pack", *period, "--whatif", str(folder), "--output", str(pack),
                     db=db_url)  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert {"whatif.html", "whatif.csv", "whatif.json"} <= set(made.json()["files"])
    assert "C1 cycle 1: breached → met" in (pack / "report.html").read_text()
    expected = whatif(db_url, "--config", str(folder), *period)
    assert json.loads((pack / "whatif.json").read_text()) == expected
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "policies.yaml").write_text("policies: []\n")
    (bad / "asb.yaml").write_text("family: asb\nrules: nope\n")
    refused = casewatch("report", "pack", *period, "--whatif", str(bad),
                        "--output", str(tmp_path / "nopack"), db=db_url)  # fmt: skip
    assert refused.exit_code == 1
    assert f"{bad / 'asb.yaml'}:1" in refused.stderr
    assert not (tmp_path / "nopack").exists()


def test_the_replay_spread_over_processes_gives_the_same_what_if(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cases are shared among worker processes (here in chunks of 3 cases), reading
    the parent's snapshot on PostgreSQL; on SQLite, where events appended meanwhile make
    the parent replay again itself, that path too: the what-if is identical each way."""
    seed = Path(__file__).resolve().parents[1] / "scenarios" / "seed-2014-15.jsonl"
    assert casewatch("import", str(seed), db=db_url).exit_code == 0
    folder = proposal(
        tmp_path / "p", "asb-high-risk-conference", target="{days: 8, kind: calendar}"
    )
    monkeypatch.setattr(replay, "CHUNK", 3)
    monkeypatch.setattr(replay, "MIN_CASES", 1)
    runtime = open_runtime(db_url, None)
    try:
        loaded = load_proposal(runtime.config, None, str(folder), None)
        period = Period(date(2014, 4, 1), date(2015, 3, 31), datetime(2015, 6, 30, tzinfo=UTC))
        alone = run_whatif(runtime, loaded, period, workers=1)
        shared = run_whatif(runtime, loaded, period, workers=2)
        monkeypatch.setattr(replay, "_moved", lambda *_: True)
        replayed_again = run_whatif(runtime, loaded, period, workers=2)
    finally:
        runtime.engine.dispose()
    assert shared == alone
    assert replayed_again == alone
    assert len(alone["slas"][0]["flipped"]) == 4
