"""The what-if's promise, as a property over generated event streams and proposals:
`current` is `report sla` on the same database, and `proposed` is `report sla` on a fresh
database that imported the same events under the proposal from the start."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import DASH_HIGH, DASH_MEDIUM, ev, jsonl
from tests.cli import casewatch
from tests.databases import PostgresTestDatabase, SqliteTemplate

LONDON = ZoneInfo("Europe/London")
SHIPPED = Path(__file__).resolve().parents[2] / "casewatch" / "config"
POLICIES = {
    "asb": ["asb-high-risk-conference", "asb-high-risk-reduction"],
    "domestic_abuse": ["da-high-risk-idva-contact", "da-high-risk-marac-referral"],
}
FIGURES = ("cohort", "met", "breached", "excluded", "cancelled", "open", "pct", "rag")
PERIOD = ("--from", "2014-04-01", "--to", "2014-05-15")
_folders = itertools.count()

_policy_change = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "target": st.fixed_dictionaries(
                {"days": st.integers(1, 8), "kind": st.sampled_from(["calendar", "working"])}
            ),
            "target_pct": st.sampled_from([70, 85, 90, 100]),
            "amber_band": st.sampled_from([0, 5, 10]),
        }
    ),
)
_proposals = st.fixed_dictionaries(
    {
        "policies": st.fixed_dictionaries(
            dict.fromkeys(itertools.chain(*POLICIES.values()), _policy_change)
        ),
        "nation": st.sampled_from([None, "scotland"]),
    }
)


def _steps(case_type: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    matrix = (
        st.builds(
            lambda level: ("risk_assessed", {"matrix": "asb", "level": level}),
            st.sampled_from(["low", "medium", "high", "high", "high"]),
        )
        if case_type == "asb"
        else st.builds(
            lambda answers: ("risk_assessed", {"matrix": "dash", "answers": answers}),
            st.sampled_from([DASH_HIGH, DASH_HIGH, DASH_MEDIUM]),
        )
    )
    return st.one_of(
        matrix,
        matrix,
        matrix,
        st.just(("incident_reported", {"category": "noise"})),
        st.just(("case_conference_held", {})),
        st.just(("partner_actions_agreed", {"actions": []})),
        st.just(("idva_contact_made", {})),
        st.just(("referral_made", {"to": "marac"})),
        st.builds(
            lambda kind, policy: (kind, {"policy": policy, "reason": "awaiting court"}),
            st.sampled_from(["sla_paused", "sla_resumed", "sla_excluded", "breach_explained"]),
            st.sampled_from(POLICIES[case_type]),
        ),
        st.just(("case_closed", {})),
        st.just(("case_reopened", {})),
    )


@st.composite
def _case(draw: st.DrawFn, case_id: str) -> list[dict[str, Any]]:
    case_type = draw(st.sampled_from(["asb", "domestic_abuse"]))
    at = datetime(2014, 3, 28, 9, 0, tzinfo=LONDON) + timedelta(hours=draw(st.integers(0, 24 * 20)))
    team = draw(st.sampled_from([None, "north", "south"]))
    lines = [ev("case_opened", case_id, at.isoformat(), case_type=case_type, team=team)]
    for event_type, fields in draw(st.lists(_steps(case_type), min_size=1, max_size=15)):
        at += timedelta(minutes=draw(st.integers(1, 60 * 24 * 3)))
        lines.append(ev(event_type, case_id, at.isoformat(), **fields))
    return lines


@st.composite
def _streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two imports of the same cases: every opening and some events, then the rest (late
    events among them), shuffled within each file."""
    cases = [draw(_case(f"C{n}")) for n in range(draw(st.integers(1, 6)))]
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for lines in cases:
        first.append(lines[0])
        for line in lines[1:]:
            (first if draw(st.booleans()) else second).append(line)
    return draw(st.permutations(first)), draw(st.permutations(second))


def _write_proposal(folder: Path, proposal: dict[str, Any]) -> Path:
    folder.mkdir()
    data = yaml.safe_load((SHIPPED / "policies.yaml").read_text(encoding="utf-8"))
    for entry in data["policies"]:
        entry.update(proposal["policies"].get(entry["id"]) or {})
    (folder / "policies.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if proposal["nation"]:
        (folder / "settings.yaml").write_text(f"nation: {proposal['nation']}\n")
    return folder


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> Callable[[], str]:
    """A new empty database on the backend of `db_url`, each time it is called."""
    if db_url.startswith("sqlite"):
        template: SqliteTemplate = request.getfixturevalue("_sqlite_template")

        def sqlite() -> str:
            folder = tmp_path / f"db{next(_folders)}"
            folder.mkdir()
            return template.copy_to(folder)

        return sqlite
    postgres: PostgresTestDatabase = request.getfixturevalue("postgres_database")
    return postgres.reset


def _run(*args: str, db: str) -> Any:
    result = casewatch(*args, db=db)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.json()


def _by_key(entries: list[dict[str, Any]], by: str | None) -> dict[tuple[Any, str], Any]:
    return {(e[by] if by else None, e["policy"]): {k: e[k] for k in FIGURES} for e in entries}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scenario=st.fixed_dictionaries(
        {
            "streams": _streams(),
            "proposal": _proposals,
            "old": st.one_of(st.none(), _proposals),
            "as_of": st.sampled_from(
                ["2014-04-22T09:30", "2014-05-10T12:00:00+01:00", "2014-12-31"]
            ),
            "by": st.sampled_from([None, "team", "case_type"]),
        }
    )
)
def test_current_is_report_sla_and_proposed_is_a_fresh_import_under_the_proposal(
    fresh_database: Callable[[], str], tmp_path: Path, scenario: dict[str, Any]
) -> None:
    """Whatever the events, the split into imports, the rules a case is pinned to and the
    proposal: the two sides equal the two `report sla`s, entry for entry."""
    streams, proposal, old = scenario["streams"], scenario["proposal"], scenario["old"]
    as_of, by = scenario["as_of"], scenario["by"]
    first, second = streams
    folder = _write_proposal(tmp_path / f"proposal{next(_folders)}", proposal)
    options = (*PERIOD, "--as-of", as_of, *(("--by", by) if by else ()))

    live = fresh_database()
    files = tmp_path / f"events{next(_folders)}"
    files.mkdir()
    (files / "first.jsonl").write_bytes(jsonl(first))
    (files / "second.jsonl").write_bytes(jsonl(second))
    earlier = ("--config", str(_write_proposal(files / "old", old))) if old else ()
    _run(*earlier, "import", str(files / "first.jsonl"), db=live)
    _run("import", str(files / "second.jsonl"), db=live)
    whatif = _run("whatif", "--config", str(folder), *options, db=live)
    report = _run("report", "sla", *options, db=live)

    replayed = fresh_database()
    (files / "all.jsonl").write_bytes(jsonl([*first, *second]))
    _run("--config", str(folder), "import", str(files / "all.jsonl"), db=replayed)
    fresh = _run("--config", str(folder), "report", "sla", *options, db=replayed)

    current = {k: e["current"] for k, e in _by_key_whatif(whatif, by).items() if e["current"]}
    proposed = {k: e["proposed"] for k, e in _by_key_whatif(whatif, by).items() if e["proposed"]}
    assert current == _by_key(report["slas"], by)
    assert proposed == _by_key(fresh["slas"], by)
    for entry in whatif["slas"]:
        if entry["current"] and entry["proposed"]:
            assert (entry["change"] is None) == (
                entry["current"]["pct"] is None or entry["proposed"]["pct"] is None
            )
        if entry["current"] == entry["proposed"] is not None:
            assert entry["change"] in (None, 0.0)


def _by_key_whatif(whatif: dict[str, Any], by: str | None) -> dict[tuple[Any, str], Any]:
    return {(e[by] if by else None, e["policy"]): e for e in whatif["slas"]}
