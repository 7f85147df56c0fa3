"""The JSON shapes of the public contract, built from domain objects.

Times are shown in the partnership's local time with their offset, the way caseworkers
read them; they are the same instants as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from casewatch.cases.clock import local_iso
from casewatch.cases.store import StoredEvent
from casewatch.engine.cycles import Cycle
from casewatch.engine.derive import Derivation


def case_view(
    derivation: Derivation,
    events: Sequence[StoredEvent],
    *,
    as_of: datetime,
    tz: ZoneInfo,
    case_type: str | None,
) -> dict[str, Any]:
    """`casewatch case show --format json`: contract section 2."""
    state = derivation.state
    risk = state.risk
    return {
        "case_id": state.case_id,
        "case_type": state.case_type or case_type,
        "team": state.team,
        "caseworker": state.caseworker,
        "status": state.status,
        "opened_at": local_iso(state.opened_at, tz),
        "closed_at": local_iso(state.closed_at, tz),
        "as_of": local_iso(as_of, tz),
        "risk": {
            "level": risk.level if risk else None,
            "matrix": risk.matrix if risk else None,
            "score": risk.score if risk else None,
            "professional_judgement": (
                {"level": risk.judgement.level, "reason": risk.judgement.reason}
                if risk and risk.judgement
                else None
            ),
        },
        "flags": [flag.flag for flag in derivation.flags],
        "flag_details": [
            {
                "flag": flag.flag,
                "raised_at": local_iso(flag.raised_at, tz),
                "event_id": flag.event_id,
                "rule": flag.rule_id,
                "rule_version": flag.rule_version,
            }
            for flag in derivation.flags
        ],
        "cycles": [cycle_view(cycle, as_of, tz) for cycle in derivation.cycles],
        "ruleset_version": derivation.ruleset_version,
        # The stored payload already lacks the victim's personal data.
        "timeline": [dict(stored.payload) for stored in events],
    }


def cycle_view(cycle: Cycle, as_of: datetime, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "policy": cycle.policy,
        "cycle": cycle.number,
        "state": cycle.state,
        "started_at": local_iso(cycle.started_at, tz),
        "due_at": local_iso(cycle.due_at, tz),
        "stopped_at": local_iso(cycle.stopped_at, tz),
        "outcome": cycle.outcome_at(as_of),
        "warn_at": local_iso(cycle.warn_at, tz),
        "breach_reason": cycle.breach_reason,
        "exclusion_reason": cycle.exclusion_reason,
        "policy_version": cycle.policy_version,
    }
