"""`casewatch case show`: the case as of a moment, in effect order, without personal data."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import DASH_HIGH, assessed, ev, jsonl, opened
from tests.cli import casewatch

AT = "2014-05-06T10:30:00+01:00"


def load(db_url: str, tmp_path: Path, lines: list[Any], name: str = "e.jsonl") -> None:
    path = tmp_path / name
    path.write_bytes(jsonl(lines))
    result = casewatch("import", str(path), db=db_url)
    assert result.exit_code == 0, result.stdout


def show(db_url: str, case_id: str, *extra: str) -> Any:
    result = casewatch("case", "show", case_id, "--format", "json", *extra, db=db_url)
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_case_show_contract_fields(db_url: str, tmp_path: Path) -> None:
    """case show gives id, type, risk, flags, cycles and timeline."""
    load(
        db_url,
        tmp_path,
        [
            opened("C1", AT, case_type="domestic_abuse", team="da-team"),
            ev(
                "risk_assessed",
                "C1",
                "2014-05-06T11:00:00+01:00",
                matrix="dash",
                answers=DASH_HIGH,
                professional_judgement={"level": "high", "reason": "agreed"},
            ),
        ],
    )
    view = show(db_url, "C1")
    assert view["case_id"] == "C1"
    assert view["case_type"] == "domestic_abuse"
    assert view["risk"] == {
        "level": "high",
        "matrix": "dash",
        "score": 14,
        "professional_judgement": {"level": "high", "reason": "agreed"},
    }
    assert isinstance(view["flags"], list)
    assert isinstance(view["cycles"], list)
    assert [e["type"] for e in view["timeline"]] == ["case_opened", "risk_assessed"]


def test_level_given_directly_has_null_score(db_url: str, tmp_path: Path) -> None:
    """A level given directly shows a null score."""
    load(db_url, tmp_path, [opened("C1", AT), assessed("C1", AT, "medium")])
    assert show(db_url, "C1")["risk"] == {
        "level": "medium",
        "matrix": "asb",
        "score": None,
        "professional_judgement": None,
    }


def test_unassessed_case_has_empty_risk(db_url: str, tmp_path: Path) -> None:
    """Before any assessment the risk fields are null."""
    load(db_url, tmp_path, [opened("C1", AT)])
    assert show(db_url, "C1")["risk"]["level"] is None


def test_timeline_is_in_effect_order(db_url: str, tmp_path: Path) -> None:
    """Events take effect in `at` order whatever order they arrived in; ties keep import order."""
    load(
        db_url,
        tmp_path,
        [
            opened("C1", "2014-05-01T09:00:00+01:00", event_id="open"),
            assessed("C1", "2014-05-03T09:00:00+01:00", "high", event_id="third"),
            assessed("C1", "2014-05-02T09:00:00+01:00", "medium", event_id="second"),
            ev(
                "contact_attempted",
                "C1",
                "2014-05-03T09:00:00+01:00",
                event_id="tie-a",
                method="call",
            ),
        ],
    )
    load(
        db_url,
        tmp_path,
        [
            ev(
                "contact_attempted",
                "C1",
                "2014-05-03T09:00:00+01:00",
                event_id="tie-b",
                method="letter",
            ),
            ev(
                "incident_reported",
                "C1",
                "2014-05-01T08:00:00+01:00",
                event_id="first",
                category="noise",
            ),
        ],
        name="late.jsonl",
    )
    view = show(db_url, "C1")
    assert [e["event_id"] for e in view["timeline"]] == [
        "first",
        "open",
        "second",
        "third",
        "tie-a",
        "tie-b",
    ]
    assert view["risk"]["level"] == "high"


def test_late_event_recomputes_the_state(db_url: str, tmp_path: Path) -> None:
    """A late event with an earlier `at` takes effect in its true place."""
    load(
        db_url, tmp_path, [opened("C1", AT), assessed("C1", "2014-05-10T09:00:00+01:00", "medium")]
    )
    load(db_url, tmp_path, [assessed("C1", "2014-05-08T09:00:00+01:00", "high")], name="late.jsonl")
    assert show(db_url, "C1")["risk"]["level"] == "medium"


def test_as_of_ignores_later_events(db_url: str, tmp_path: Path) -> None:
    """--as-of shows the case as it stood then: later events are ignored."""
    load(
        db_url,
        tmp_path,
        [
            opened("C1", AT),
            assessed("C1", "2014-05-07T09:00:00+01:00", "high"),
            assessed("C1", "2014-05-09T09:00:00+01:00", "medium"),
        ],
    )
    assert show(db_url, "C1", "--as-of", "2014-05-08")["risk"]["level"] == "high"
    assert show(db_url, "C1", "--as-of", "2014-05-10T00:00:00+01:00")["risk"]["level"] == "medium"
    before = show(db_url, "C1", "--as-of", "2014-05-06T10:00")
    assert before["timeline"] == []


def test_as_of_bare_date_is_local_midnight(db_url: str, tmp_path: Path) -> None:
    """A bare date is 00:00 London time: an event at 23:30 UTC the day before (00:30 BST) is after it."""
    load(db_url, tmp_path, [opened("C1", AT), assessed("C1", "2014-05-07T23:30:00+00:00", "high")])
    assert show(db_url, "C1", "--as-of", "2014-05-08")["risk"]["level"] is None
    assert show(db_url, "C1", "--as-of", "2014-05-08T00:31")["risk"]["level"] == "high"


def test_timeline_has_no_victim_data(db_url: str, tmp_path: Path) -> None:
    """The victim's personal data never appears in case show."""
    load(
        db_url,
        tmp_path,
        [opened("C1", AT, victim={"name": "Ada Example", "address": "1 Any Street"})],
    )
    result = casewatch("case", "show", "C1", "--format", "json", db=db_url)
    assert "Ada Example" not in result.stdout
    assert "1 Any Street" not in result.stdout
    assert "victim" not in result.json()["timeline"][0]
    table = casewatch("case", "show", "C1", db=db_url)
    assert "Ada Example" not in table.stdout


def test_unknown_case_exits_1(db_url: str) -> None:
    """Showing a case that does not exist exits 1 and says so."""
    result = casewatch("case", "show", "NOPE", "--format", "json", db=db_url)
    assert result.exit_code == 1
    assert "not found" in result.stderr


def test_bad_as_of_is_a_usage_error(db_url: str, tmp_path: Path) -> None:
    """An unreadable --as-of exits 2."""
    load(db_url, tmp_path, [opened("C1", AT)])
    assert casewatch("case", "show", "C1", "--as-of", "soon", db=db_url).exit_code == 2


def test_case_list(db_url: str, tmp_path: Path) -> None:
    """case list shows every case with its current risk, filterable by team."""
    load(
        db_url,
        tmp_path,
        [
            opened("C1", AT, team="north"),
            opened("C2", AT, team="south"),
            assessed("C2", AT, "high"),
        ],
    )
    everything = casewatch("case", "list", "--format", "json", db=db_url).json()
    assert [(c["case_id"], c["risk_level"]) for c in everything] == [("C1", None), ("C2", "high")]
    north = casewatch("case", "list", "--team", "north", "--format", "json", db=db_url).json()
    assert [c["case_id"] for c in north] == ["C1"]


_steps = st.lists(
    st.sampled_from(["low", "medium", "high", "incident", "close", "reopen"]),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps, seed=st.integers(0, 10_000), split=st.integers(0, 8))
def test_state_does_not_depend_on_arrival_order(
    db_url: str, tmp_path_factory: Any, steps: list[str], seed: int, split: int
) -> None:
    """The same events imported in any order, across any number of files, give the same case."""
    case_id = f"C-{seed}-{split}-{len(steps)}-{random.random()}"
    events: list[dict[str, Any]] = [opened(case_id, "2014-05-01T09:00:00+01:00")]
    for day, step in enumerate(steps, start=2):
        at = f"2014-05-{day:02d}T09:00:00+01:00"
        if step == "incident":
            events.append(ev("incident_reported", case_id, at, category="noise"))
        elif step == "close":
            events.append(ev("case_closed", case_id, at))
        elif step == "reopen":
            events.append(ev("case_reopened", case_id, at))
        else:
            events.append(assessed(case_id, at, step))
    # Events may arrive in any order, but a later file needs its case opened already.
    rng = random.Random(seed)
    rest = events[1:]
    rng.shuffle(rest)
    cut = min(split, len(rest))
    first = rest[:cut]
    first.insert(rng.randint(0, len(first)), events[0])
    folder = tmp_path_factory.mktemp("arrival")
    for index, part in enumerate((first, rest[cut:])):
        if part:
            load(db_url, folder, part, name=f"part{index}.jsonl")
    as_imported = show(db_url, case_id)
    in_order = [e["event_id"] for e in events]
    assert [e["event_id"] for e in as_imported["timeline"]] == in_order
    twin = case_id + "-twin"
    load(
        db_url,
        folder,
        [{**e, "case_id": twin, "event_id": e["event_id"] + "-t"} for e in events],
        name="ordered.jsonl",
    )
    ordered = show(db_url, twin)
    assert as_imported["risk"] == ordered["risk"]
    assert as_imported["status"] == ordered["status"]
