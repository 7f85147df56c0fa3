"""The JSON shapes of the public contract, built from domain objects.

These attrs classes are the one schema source: the CLI prints them as JSON and the HTTP
API returns them (its OpenAPI document is generated from them). Times are shown in the
partnership's local time with their offset, the way caseworkers read them; they are the
same instants as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from casewatch.cases.clock import local_iso
from casewatch.cases.store import StoredEvent
from casewatch.engine.cycles import Cycle
from casewatch.engine.derive import Derivation


@frozen
class JudgementView:
    level: str
    reason: str


@frozen
class RiskView:
    level: str | None
    matrix: str | None
    score: int | None
    professional_judgement: JudgementView | None


@frozen
class FlagView:
    flag: str
    raised_at: str | None
    event_id: str
    rule: str
    rule_version: str


@frozen
class CycleView:
    policy: str
    cycle: int
    state: str
    started_at: str | None
    due_at: str | None
    stopped_at: str | None
    outcome: str | None
    warn_at: str | None
    breach_reason: str | None
    exclusion_reason: str | None
    policy_version: str
    rag: str | None  # red breached, amber past the warning point, green otherwise


@frozen
class CaseView:
    """`casewatch case show --format json` (contract section 2) and GET /api/v1/cases/{id}.

    `victim` is filled only for people allowed to see personal data; it is always null on
    the command line, whose output may end up in files and tickets.
    """

    case_id: str
    case_type: str | None
    team: str | None
    caseworker: str | None
    status: str
    opened_at: str | None
    closed_at: str | None
    as_of: str | None
    risk: RiskView
    flags: list[str]
    flag_details: list[FlagView]
    cycles: list[CycleView]
    ruleset_version: str | None
    timeline: list[dict[str, Any]]
    victim: dict[str, Any] | None = None
    shared_with: list[str] | None = None
    # Other cases of this victim (linked by victim.reference) that the reader may see;
    # null where personal data is not shown (the command line, a PSG).
    other_cases: list[str] | None = None


def case_view(
    derivation: Derivation,
    events: Sequence[StoredEvent],
    *,
    as_of: datetime,
    tz: ZoneInfo,
    case_type: str | None,
    victim: Mapping[str, Any] | None = None,
    shared_with: Sequence[str] | None = None,
    other_cases: Sequence[str] | None = None,
) -> CaseView:
    state = derivation.state
    risk = state.risk
    return CaseView(
        case_id=state.case_id,
        case_type=state.case_type or case_type,
        team=state.team,
        caseworker=state.caseworker,
        status=state.status,
        opened_at=local_iso(state.opened_at, tz),
        closed_at=local_iso(state.closed_at, tz),
        as_of=local_iso(as_of, tz),
        risk=RiskView(
            level=risk.level if risk else None,
            matrix=risk.matrix if risk else None,
            score=risk.score if risk else None,
            professional_judgement=(
                JudgementView(level=risk.judgement.level, reason=risk.judgement.reason)
                if risk and risk.judgement
                else None
            ),
        ),
        flags=[flag.flag for flag in derivation.flags],
        flag_details=[
            FlagView(
                flag=flag.flag,
                raised_at=local_iso(flag.raised_at, tz),
                event_id=flag.event_id,
                rule=flag.rule_id,
                rule_version=flag.rule_version,
            )
            for flag in derivation.flags
        ],
        cycles=[cycle_view(cycle, as_of, tz) for cycle in derivation.cycles],
        ruleset_version=derivation.ruleset_version,
        # The stored payload already lacks the victim's personal data.
        timeline=[dict(stored.payload) for stored in events],
        victim=dict(victim) if victim is not None else None,
        shared_with=list(shared_with) if shared_with is not None else None,
        other_cases=list(other_cases) if other_cases is not None else None,
    )


def cycle_view(cycle: Cycle, as_of: datetime, tz: ZoneInfo) -> CycleView:
    return CycleView(
        policy=cycle.policy,
        cycle=cycle.number,
        state=cycle.state,
        started_at=local_iso(cycle.started_at, tz),
        due_at=local_iso(cycle.due_at, tz),
        stopped_at=local_iso(cycle.stopped_at, tz),
        outcome=cycle.outcome_at(as_of),
        warn_at=local_iso(cycle.warn_at, tz),
        breach_reason=cycle.breach_reason,
        exclusion_reason=cycle.exclusion_reason,
        policy_version=cycle.policy_version,
        rag=cycle.rag_at(as_of),
    )
