"""The case fold: pure, and independent of the order events arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casewatch.cases.events import (
    Assessment,
    CaseClosed,
    CaseOpened,
    CaseReopened,
    Event,
    IncidentReported,
    ReferralMade,
    RiskAssessed,
)
from casewatch.cases.state import fold

T0 = datetime(2014, 5, 6, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def risk(event_id: str, hours: float, level: str) -> RiskAssessed:
    return RiskAssessed(
        event_id=event_id,
        case_id="C1",
        at=at(hours),
        matrix="asb",
        assessment=Assessment(level=level, score=None),
    )


def test_fold_builds_the_case() -> None:
    """Opening, incidents, referrals and the latest risk assessment make up the state."""
    state = fold(
        "C1",
        [
            CaseOpened(event_id="e1", case_id="C1", at=at(0), case_type="asb", team="north"),
            IncidentReported(event_id="e2", case_id="C1", at=at(1), category="noise"),
            risk("e3", 2, "high"),
            ReferralMade(event_id="e4", case_id="C1", at=at(3), to="marac"),
            risk("e5", 4, "medium"),
        ],
    )
    assert (state.case_type, state.team, state.status) == ("asb", "north", "open")
    assert state.risk is not None and state.risk.level == "medium"
    assert [i.category for i in state.incidents] == ["noise"]
    assert [r.to for r in state.referrals] == ["marac"]
    assert state.event_count == 5
    assert state.last_event_at == at(4)


def test_close_and_reopen_clear_the_level() -> None:
    """Reopening a closed case clears its risk level: the next assessment is a first one."""
    events: list[Event] = [
        CaseOpened(event_id="e1", case_id="C1", at=at(0), case_type="asb"),
        risk("e2", 1, "high"),
        CaseClosed(event_id="e3", case_id="C1", at=at(2)),
    ]
    closed = fold("C1", events)
    assert (closed.status, closed.closed_at) == ("closed", at(2))
    assert closed.risk is not None
    reopened = fold("C1", [*events, CaseReopened(event_id="e4", case_id="C1", at=at(3))])
    assert (reopened.status, reopened.risk, reopened.closed_at) == ("open", None, None)


def test_reopening_an_open_case_changes_nothing() -> None:
    """case_reopened on an open case is kept in the timeline and changes nothing."""
    events: list[Event] = [
        CaseOpened(event_id="e1", case_id="C1", at=at(0), case_type="asb"),
        risk("e2", 1, "high"),
        CaseReopened(event_id="e3", case_id="C1", at=at(2)),
    ]
    state = fold("C1", events)
    assert state.risk is not None and state.risk.level == "high"


def test_closing_twice_keeps_the_first_close() -> None:
    """A second close of a closed case does not move the closing time."""
    state = fold(
        "C1",
        [
            CaseOpened(event_id="e1", case_id="C1", at=at(0), case_type="asb"),
            CaseClosed(event_id="e2", case_id="C1", at=at(1)),
            CaseClosed(event_id="e3", case_id="C1", at=at(2)),
        ],
    )
    assert state.closed_at == at(1)
