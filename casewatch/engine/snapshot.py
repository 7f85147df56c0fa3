"""The flat fact snapshot both evaluators match against: one per event, built purely."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from casewatch.cases.events import (
    ApplicantInformed,
    ContactAttempted,
    Event,
    IncidentReported,
    ReferralMade,
    RiskAssessed,
    ThresholdDecided,
    level_rank,
)
from casewatch.cases.state import CaseState, LinkedEvent, Risk
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.rules import Condition, RuleSet


def build_snapshot(
    before: CaseState,
    event: Event,
    after: CaseState,
    rules: RuleSet,
    calendar: WorkCalendar,
    *,
    linked: Sequence[LinkedEvent] = (),
    source_case_type: str | None = None,
) -> dict[str, Any]:
    """Every fact of engine.vocabulary that the rules for this event's type use.

    `linked` are the incidents and referrals of the cases linked to this one (the same
    victim's); `source_case_type` is given when `event` itself is one of them."""
    snapshot: dict[str, Any] = {
        "type": event.TYPE,
        "case_type": after.case_type or "",
        "linked": int(source_case_type is not None),
        "source_case_type": source_case_type or after.case_type or "",
        "risk_before": _rank(before.risk),
        "risk_after": _rank(after.risk),
        "case_status": after.status,
        "referral_to": event.to if isinstance(event, ReferralMade) else "",
        "contact_method": event.method if isinstance(event, ContactAttempted) else "",
        "incident_category": event.category if isinstance(event, IncidentReported) else "",
        "matrix": event.matrix if isinstance(event, RiskAssessed) else "",
        "police_incidents_12m": (
            event.police_incidents_12m or 0 if isinstance(event, RiskAssessed) else 0
        ),
        "informed_stage": event.stage if isinstance(event, ApplicantInformed) else "",
        # Booleans as 0/1, as every boolean fact: durable-rules compares them as numbers.
        "threshold_met": int(isinstance(event, ThresholdDecided) and event.met),
        "potential_escalation": int(
            isinstance(event, RiskAssessed)
            and after.risk is not None
            and after.risk.potential_escalation
        ),
    }
    for window in rules.windows_by_event.get(event.TYPE, ()):
        if window.fact == "incidents_within":
            since = _window_start(event.at, window.days, window.months, calendar)
            own = sum(1 for i in after.incidents if since <= i.at <= event.at)
            others = sum(
                1
                for other in _linked_of(window, linked, IncidentReported)
                if since <= other.event.at <= event.at
            )
            snapshot[window.key] = own + others
        else:  # previous_referral_within: an earlier referral to the same place
            snapshot[window.key] = int(_previous_referral(window, event, before, linked, calendar))
    return snapshot


def _previous_referral(
    window: Condition,
    event: Event,
    before: CaseState,
    linked: Sequence[LinkedEvent],
    calendar: WorkCalendar,
) -> bool:
    """An earlier referral to the same place whose time falls in the window ending at this
    referral's incident (or, without one, at the referral): SafeLives counts a repeat by
    the incident within 12 months from the last referral. A linked case's referral is
    earlier when its `at` is."""
    until = event.repeat_reference_at if isinstance(event, ReferralMade) else event.at
    since = _window_start(until, window.days, window.months, calendar)
    if any(r.to == window.to and since <= r.at <= until for r in before.referrals):
        return True
    return any(
        isinstance(other.event, ReferralMade)
        and other.event.to == window.to
        and other.event.event_id != event.event_id
        and other.event.at < event.at
        and since <= other.event.at <= until
        for other in _linked_of(window, linked, ReferralMade)
    )


def _linked_of(
    window: Condition, linked: Sequence[LinkedEvent], kind: type[Event]
) -> list[LinkedEvent]:
    """The linked cases' events of a kind this condition counts: none unless its rule
    counts across linked cases, then those on cases of the rule's types."""
    types = window.linked_case_types
    if types is None:
        return []
    return [other for other in linked if isinstance(other.event, kind) and other.case_type in types]


def _rank(risk: Risk | None) -> int:
    return -1 if risk is None else level_rank(risk.level)


def _window_start(
    at: datetime, days: int | None, months: int | None, calendar: WorkCalendar
) -> datetime:
    if days is not None:
        return at - timedelta(days=days)
    assert months is not None
    return calendar.add_calendar_months(at, -months)
