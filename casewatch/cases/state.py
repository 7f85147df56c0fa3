"""A case's state as a pure fold over its events in effect order.

Effect order is `at`, ties broken by arrival (import, then line). Nothing is stored that
cannot be recomputed from the events, so a late event simply means folding again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import singledispatch

from attrs import evolve, frozen
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
    state = _apply(event, state)
    return evolve(state, event_count=state.event_count + 1, last_event_at=event.at)


@singledispatch
def _apply(event: Event, state: CaseState) -> CaseState:
    # Conferences, contacts, SLA instructions and the like change no case fact; the
    # engine reads them from the event itself.
    return state


@_apply.register
def _(event: CaseOpened, state: CaseState) -> CaseState:
    return evolve(
        state,
        case_type=event.case_type,
        team=event.team,
        caseworker=event.caseworker,
        tags=event.tags,
        victim_link=event.victim_link,
        opened_at=event.at,
    )


@_apply.register
def _(event: IncidentReported, state: CaseState) -> CaseState:
    incident = Incident(at=event.at, category=event.category, event_id=event.event_id)
    return evolve(state, incidents=(*state.incidents, incident))


@_apply.register
def _(event: RiskAssessed, state: CaseState) -> CaseState:
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
    return evolve(state, risk=risk)


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
def _(event: ReferralMade, state: CaseState) -> CaseState:
    referral = Referral(
        at=event.at, to=event.to, event_id=event.event_id, incident_at=event.incident_at
    )
    return evolve(state, referrals=(*state.referrals, referral))


@_apply.register
def _(event: CaseClosed, state: CaseState) -> CaseState:
    if not state.is_open:
        return state
    return evolve(state, status="closed", closed_at=event.at)


@_apply.register
def _(event: CaseReopened, state: CaseState) -> CaseState:
    # Reopening clears the level: the next assessment counts as a first assessment.
    if state.is_open:
        return state
    return evolve(state, status="open", closed_at=None, risk=None)
