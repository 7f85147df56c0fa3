"""The flat fact snapshot both evaluators match against: one per event, built purely."""

from __future__ import annotations

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
from casewatch.cases.state import CaseState, Risk
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.rules import RuleSet


def build_snapshot(
    before: CaseState, event: Event, after: CaseState, rules: RuleSet, calendar: WorkCalendar
) -> dict[str, Any]:
    """Every fact of engine.vocabulary that the rules for this event's type use."""
    snapshot: dict[str, Any] = {
        "type": event.TYPE,
        "case_type": after.case_type or "",
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
    }
    for window in rules.windows_by_event.get(event.TYPE, ()):
        since = _window_start(event.at, window.days, window.months, calendar)
        if window.fact == "incidents_within":
            snapshot[window.key] = sum(1 for i in after.incidents if since <= i.at <= event.at)
        else:  # previous_referral_within: an earlier referral to the same place
            snapshot[window.key] = int(
                any(r.to == window.to and since <= r.at <= event.at for r in before.referrals)
            )
    return snapshot


def _rank(risk: Risk | None) -> int:
    return -1 if risk is None else level_rank(risk.level)


def _window_start(
    at: datetime, days: int | None, months: int | None, calendar: WorkCalendar
) -> datetime:
    if days is not None:
        return at - timedelta(days=days)
    assert months is not None
    return calendar.add_calendar_months(at, -months)
