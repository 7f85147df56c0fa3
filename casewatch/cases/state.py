"""A case's state as a pure fold over its events in effect order.

Effect order is `at`, ties broken by arrival (import, then line). Nothing is stored that
cannot be recomputed from the events, so a late event simply means folding again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import singledispatch
from operator import attrgetter
from typing import Any

import attrs
from attrs import frozen
from dateutil.relativedelta import relativedelta

from casewatch.cases.events import (
    CaseClosed,
    CaseOpened,
    CaseReopened,
    Event,
    IncidentReported,
    Judgement,
    ReferralMade,
    RiskAssessed,
    level_rank,
)


@frozen
class Risk:
    level: str
    matrix: str
    score: int | None
    judgement: Judgement | None
    assessed_at: datetime
    potential_escalation: bool = False


@frozen
class Incident:
    at: datetime
    category: str
    event_id: str


@frozen
class Referral:
    at: datetime
    to: str
    event_id: str
    incident_at: datetime | None = None


@frozen
class LinkedEvent:
    """An incident or referral of another case of the same victim (linked by the victim's
    reference), with that case's type: an input to this case's derivation."""

    event: Event
    case_type: str


@frozen
class CaseState:
    case_id: str
    case_type: str | None = None
    team: str | None = None
    caseworker: str | None = None
    tags: tuple[str, ...] = ()
    victim_link: str | None = None
    status: str = "open"
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    risk: Risk | None = None
    incidents: tuple[Incident, ...] = ()
    referrals: tuple[Referral, ...] = ()
    event_count: int = 0
    last_event_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def fold(case_id: str, events: Iterable[Event]) -> CaseState:
    """The state after `events`, which must already be in effect order."""
    state = CaseState(case_id=case_id)
    for event in events:
        state = apply(state, event)
    return state


def apply(state: CaseState, event: Event) -> CaseState:
    """One step of the fold: the state just after `event` took effect."""
    # One new state per event, built directly: every replay folds every event it reads,
    # and attrs' evolve looks the class's fields up again on every call.
    values = dict(zip(_FIELDS, _values(state), strict=True))
    values.update(_apply(event, state))
    values["event_count"] = state.event_count + 1
    values["last_event_at"] = event.at
    return CaseState(**values)


_FIELDS = tuple(field.name for field in attrs.fields(CaseState))
_values = attrgetter(*_FIELDS)


@singledispatch
def _apply(event: Event, state: CaseState) -> dict[str, Any]:
    """The case facts `event` changes, by field.

    Conferences, contacts, SLA instructions and the like change none; the engine reads
    them from the event itself."""
    return {}


@_apply.register
def _(event: CaseOpened, state: CaseState) -> dict[str, Any]:
    return {
        "case_type": event.case_type,
        "team": event.team,
        "caseworker": event.caseworker,
        "tags": event.tags,
        "victim_link": event.victim_link,
        "opened_at": event.at,
    }


@_apply.register
def _(event: IncidentReported, state: CaseState) -> dict[str, Any]:
    incident = Incident(at=event.at, category=event.category, event_id=event.event_id)
    return {"incidents": (*state.incidents, incident)}


@_apply.register
def _(event: RiskAssessed, state: CaseState) -> dict[str, Any]:
    level = event.assessment.level
    escalation = event.assessment.potential_escalation or _escalated_by_case(event, state)
    if escalation and level_rank(level) < level_rank("high"):
        level = "high"
    risk = Risk(
        level=level,
        matrix=event.matrix,
        score=event.assessment.score,
        judgement=event.judgement,
        assessed_at=event.at,
        potential_escalation=escalation,
    )
    return {"risk": risk}


def _escalated_by_case(event: RiskAssessed, state: CaseState) -> bool:
    """Potential escalation by the incidents recorded on the case in the window before
    the assessment, when the checklist counted them at acceptance (dash.yaml)."""
    rule = event.assessment.case_escalation
    if rule is None or rule.counts == "police_incidents_12m":
        return False
    since = event.at - relativedelta(months=rule.months)
    domestic = state.case_type == "domestic_abuse"
    count = sum(
        1
        for incident in state.incidents
        if since <= incident.at <= event.at and (domestic or incident.category == "domestic_abuse")
    )
    return count >= rule.threshold


@_apply.register
def _(event: ReferralMade, state: CaseState) -> dict[str, Any]:
    referral = Referral(
        at=event.at, to=event.to, event_id=event.event_id, incident_at=event.incident_at
    )
    return {"referrals": (*state.referrals, referral)}


@_apply.register
def _(event: CaseClosed, state: CaseState) -> dict[str, Any]:
    if not state.is_open:
        return {}
    return {"status": "closed", "closed_at": event.at}


@_apply.register
def _(event: CaseReopened, state: CaseState) -> dict[str, Any]:
    # Reopening clears the level: the next assessment counts as a first assessment.
    if state.is_open:
        return {}
    return {"status": "open", "closed_at": None, "risk": None}
