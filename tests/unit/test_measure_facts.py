"""The open spans and facts of one case, computed from its events alone."""

from __future__ import annotations

from datetime import UTC, datetime

from casewatch.engine.facts import StoredEvent, case_facts, open_spans


def _t(day: int) -> datetime:
    return datetime(2014, 5, day, 9, tzinfo=UTC)


def test_a_reopened_case_has_two_spans() -> None:
    """Closing ends a span and reopening starts another, still open."""
    events = [("case_opened", _t(1)), ("case_closed", _t(5)), ("case_reopened", _t(9))]
    assert open_spans(events) == [(_t(1), _t(5)), (_t(9), None)]


def test_a_closing_and_an_opening_at_one_moment_leave_the_case_closed() -> None:
    """The latest opening must be after the latest closing, so a tie is closed."""
    events = [("case_opened", _t(1)), ("case_reopened", _t(5)), ("case_closed", _t(5))]
    assert open_spans(events) == [(_t(1), _t(5))]


def test_a_reopening_of_an_open_case_continues_its_span() -> None:
    """Only a closing ends a span; other events change nothing."""
    events = [("case_opened", _t(1)), ("incident_reported", _t(2)), ("case_reopened", _t(3))]
    assert open_spans(events) == [(_t(1), None)]


def test_each_event_keeps_the_field_its_count_reads() -> None:
    """Case type, referral destination and incident time, and the accepted risk level."""
    events = [
        StoredEvent(
            "case_opened", _t(1), 1, 1, {"case_type": "asb", "caseworker": "k.doyle"}, None
        ),
        StoredEvent(
            "referral_made",
            _t(2),
            1,
            2,
            {"to": "marac", "incident_at": "2014-04-30T10:00:00+01:00"},
            None,
        ),
        StoredEvent("risk_assessed", _t(3), 2, 1, {"level": "medium"}, {"level": "high"}),
    ]
    facts = case_facts("C", events)
    assert [(f["fact"], f["detail"], f["incident_at"]) for f in facts] == [
        ("case_opened", "asb", None),
        ("referral_made", "marac", datetime(2014, 4, 30, 9, tzinfo=UTC)),
        ("risk_assessed", "high", None),
        ("open", None, None),
    ]
    assert [f["seq"] for f in facts] == [0, 1, 2, 3]


def test_every_fact_names_the_person_and_caseworker_the_opening_gave() -> None:
    """The victim's link when the opening has one, else the case; its caseworker."""
    linked = StoredEvent(
        "case_opened",
        _t(1),
        1,
        1,
        {"case_type": "da", "caseworker": "j.carter"},
        {"victim_link": "L1"},
    )
    alone = StoredEvent("case_opened", _t(1), 1, 2, {"case_type": "asb"}, None)
    incident = StoredEvent("incident_reported", _t(2), 1, 3, {"category": "noise"}, None)
    assert {(f["person"], f["caseworker"]) for f in case_facts("D", [linked, incident])} == {
        ("L1", "j.carter")
    }
    assert {(f["person"], f["caseworker"]) for f in case_facts("A", [alone, incident])} == {
        ("A", None)
    }
