"""Importing ASB case review events on SQLite and PostgreSQL: the checks that need other
lines or earlier imports, the policies' cycles, and nothing applied on a refusal."""

from __future__ import annotations

from typing import Any

from tests.builders import ev, jsonl, opened
from tests.cli import casewatch

OPENED = "2024-01-02T09:00:00+00:00"
REQUESTED = "2024-03-01T09:00:00+00:00"  # a Friday


def complaints(*incidents: str | None) -> list[dict[str, Any]]:
    """One qualifying complaint per entry (reported a day after the behaviour, in Feb)."""
    return [
        {
            "reported_at": f"2024-02-{day:02d}T10:00:00+00:00",
            "behaviour_at": f"2024-02-{day - 1:02d}T22:00:00+00:00",
            "agency": "police" if day % 2 else "council",
            **({"incident": incident} if incident else {}),
        }
        for day, incident in zip(range(10, 10 + len(incidents)), incidents, strict=True)
    ]


def request(case_id: str, items: list[dict[str, Any]], at: str = REQUESTED) -> dict[str, Any]:
    return ev(
        "case_review_requested", case_id, at, f"{case_id}-req", applicant="victim", complaints=items
    )


def decided(case_id: str, met: bool, at: str = "2024-03-20T09:00:00+00:00") -> dict[str, Any]:
    return ev("threshold_decided", case_id, at, f"{case_id}-dec", met=met, reason="persistence")


def run(db_url: str, tmp_path: Any, lines: list[Any], name: str = "e.jsonl") -> Any:
    path = tmp_path / name
    path.write_bytes(jsonl(lines))
    return casewatch("import", str(path), db=db_url)


def test_a_not_met_decision_with_three_qualifying_complaints_is_refused(
    db_url: str, tmp_path: Any
) -> None:
    """Lines in reverse order still find the application; nothing from the file applies."""
    lines = [
        decided("C1", met=False),
        request("C1", complaints(None, None, None)),
        opened("C1", OPENED),
    ]
    result = run(db_url, tmp_path, lines)
    assert result.exit_code == 1
    summary = result.json()
    assert summary["applied"] == 0
    assert [e["line"] for e in summary["errors"]] == [1]
    assert summary["errors"][0]["event_id"] == "C1-dec"
    assert summary["errors"][0]["error"] == (
        "the threshold is met, so the decision must be 'met': application 'C1-req' has 3 "
        "qualifying complaints (the threshold is 3): complaint 1 (reported 2024-02-10 to "
        "council); complaint 2 (reported 2024-02-11 to police); complaint 3 (reported "
        "2024-02-12 to council)"
    )
    assert casewatch("case", "show", "C1", "--format", "json", db=db_url).exit_code == 1


def test_the_same_incident_twice_leaves_the_threshold_unmet(db_url: str, tmp_path: Any) -> None:
    """Police and council reports of incident 'i1' count once: two qualify, 'not met' stands."""
    lines = [
        opened("C1", OPENED),
        request("C1", complaints("i1", "i1", None)),
        decided("C1", False),
    ]
    result = run(db_url, tmp_path, lines)
    assert result.json()["errors"] == []
    assert result.json()["applied"] == 3


def test_the_application_in_an_earlier_import_is_found(db_url: str, tmp_path: Any) -> None:
    """The decision arrives in a later file than the application and is still checked."""
    run(db_url, tmp_path, [opened("C1", OPENED), request("C1", complaints(None, None, None))])
    result = run(db_url, tmp_path, [decided("C1", False)], "later.jsonl")
    assert result.exit_code == 1
    assert "application 'C1-req' has 3 qualifying complaints" in result.json()["errors"][0]["error"]


def test_a_threshold_of_two_in_configuration_is_honoured(db_url: str, tmp_path: Any) -> None:
    """With case_review.threshold 2, two qualifying complaints make 'not met' an error."""
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "settings.yaml").write_text("timezone: Europe/London\ncase_review: {threshold: 2}\n")
    path = tmp_path / "e.jsonl"
    path.write_bytes(
        jsonl([opened("C1", OPENED), request("C1", complaints(None, None)), decided("C1", False)])
    )
    result = casewatch("--config", str(folder), "import", str(path), db=db_url)
    assert result.exit_code == 1
    assert "(the threshold is 2)" in result.json()["errors"][0]["error"]


def test_a_decision_before_the_application_is_refused(db_url: str, tmp_path: Any) -> None:
    """A threshold decided before any application names the missing application."""
    lines = [
        opened("C1", OPENED),
        decided("C1", True, at="2024-02-20T09:00:00+00:00"),
        request("C1", complaints(None)),
    ]
    result = run(db_url, tmp_path, lines)
    assert result.json()["applied"] == 0
    assert result.json()["errors"] == [
        {
            "line": 2,
            "event_id": "C1-dec",
            "error": "a threshold decision needs an application first: case 'C1' has no "
            "case_review_requested at or before this decision",
        }
    ]


def test_case_review_events_on_a_domestic_abuse_case_are_refused(
    db_url: str, tmp_path: Any
) -> None:
    """Every case review event on a DA case is named; none is applied."""
    lines = [
        opened("D1", OPENED, case_type="domestic_abuse"),
        request("D1", complaints(None)),
        ev("case_review_held", "D1", "2024-03-25T09:00:00+00:00", "D1-held"),
    ]
    result = run(db_url, tmp_path, lines)
    assert result.json()["applied"] == 0
    assert [(e["line"], e["event_id"]) for e in result.json()["errors"]] == [
        (2, "D1-req"),
        (3, "D1-held"),
    ]
    assert "is a domestic abuse case" in result.json()["errors"][0]["error"]


def test_recommendation_ids_are_unique_and_completions_name_one(db_url: str, tmp_path: Any) -> None:
    """A reused id in a later import and a completion of an unknown id are refused."""
    made = ev(
        "recommendations_made",
        "C1",
        "2024-04-02T09:00:00+00:00",
        "C1-recs",
        recommendations=[
            {"id": "r1", "agency": "police", "action": "patrols", "due": "2024-05-01"}
        ],
    )
    first = run(db_url, tmp_path, [opened("C1", OPENED), made])
    assert first.json()["applied"] == 2
    again = ev(
        "recommendations_made",
        "C1",
        "2024-04-03T09:00:00+00:00",
        "C1-recs-2",
        recommendations=[{"id": "r1", "agency": "council", "action": "x", "due": "2024-05-01"}],
    )
    unknown = ev("recommendation_completed", "C1", "2024-04-04T09:00:00+00:00", "C1-done", id="r9")
    done = ev("recommendation_completed", "C1", "2024-04-05T09:00:00+00:00", "C1-ok", id="r1")
    result = run(db_url, tmp_path, [again, unknown, done], "later.jsonl")
    errors = result.json()["errors"]
    assert [e["line"] for e in errors] == [1, 2]
    assert (
        "recommendation id 'r1' is already used on case 'C1' (by event 'C1-recs')"
        in (errors[0]["error"])
    )
    assert "case 'C1' has no recommendation 'r9'" in errors[1]["error"]


def test_the_four_stages_run_as_working_day_cycles(db_url: str, tmp_path: Any) -> None:
    """Hand-derived: requested Fri 1 Mar 09:00 is due Fri 15 Mar (10 working days);
    acknowledged Mon 4 Mar, decision due Mon 25 Mar (15); met on Wed 20 Mar, review due
    Fri 19 Apr 09:00 BST (20 working days, less Good Friday 29 Mar and Easter Monday 1 Apr); held
    Tue 16 Apr, outcome due Tue 23 Apr (5), told Wed 24 Apr: breached."""
    lines = [
        opened("C1", OPENED),
        request("C1", complaints(None, None, None)),
        ev("applicant_informed", "C1", "2024-03-04T09:00:00+00:00", stage="acknowledged"),
        decided("C1", True),
        ev("case_review_held", "C1", "2024-04-16T10:00:00+01:00"),
        ev("applicant_informed", "C1", "2024-04-24T09:00:00+01:00", stage="outcome"),
    ]
    assert run(db_url, tmp_path, lines).json()["applied"] == 6
    shown = casewatch("case", "show", "C1", "--format", "json", "--as-of", "2024-05-01", db=db_url)
    cycles = {c["policy"]: c for c in shown.json()["cycles"]}
    assert cycles["asb-review-acknowledgement"]["due_at"] == "2024-03-15T09:00:00+00:00"
    assert cycles["asb-review-acknowledgement"]["outcome"] == "met"
    assert cycles["asb-review-decision"]["due_at"] == "2024-03-25T09:00:00+00:00"
    assert cycles["asb-review-decision"]["outcome"] == "met"
    assert cycles["asb-review-meeting"]["due_at"] == "2024-04-19T09:00:00+01:00"
    assert cycles["asb-review-meeting"]["outcome"] == "met"
    assert cycles["asb-review-outcome"]["due_at"] == "2024-04-23T10:00:00+01:00"
    assert cycles["asb-review-outcome"]["outcome"] == "breached"


def test_a_not_met_decision_starts_no_review_clock(db_url: str, tmp_path: Any) -> None:
    """Below the threshold a 'not met' decision is allowed and no meeting cycle starts."""
    lines = [
        opened("C1", OPENED),
        request("C1", complaints(None)),
        ev("applicant_informed", "C1", "2024-03-04T09:00:00+00:00", stage="acknowledged"),
        decided("C1", False),
    ]
    assert run(db_url, tmp_path, lines).json()["applied"] == 4
    shown = casewatch("case", "show", "C1", "--format", "json", "--as-of", "2024-05-01", db=db_url)
    assert sorted(c["policy"] for c in shown.json()["cycles"]) == [
        "asb-review-acknowledgement",
        "asb-review-decision",
    ]


def test_a_refused_application_is_the_only_error_not_its_decision(
    db_url: str, tmp_path: Any
) -> None:
    """The application's complaint is after it: that line is refused, and the decision
    that relies on it is not also refused for lacking an application."""
    late = complaints(None)
    late[0]["reported_at"] = "2024-03-02T10:00:00+00:00"
    lines = [opened("C1", OPENED), request("C1", late), decided("C1", True)]
    result = run(db_url, tmp_path, lines)
    assert result.json()["applied"] == 0
    assert [e["line"] for e in result.json()["errors"]] == [2]
    assert "is after the application" in result.json()["errors"][0]["error"]
