"""The JSON shapes of the public contract, built from domain objects.

Times are shown in the partnership's local time with their offset, the way caseworkers
read them; they are the same instants as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from casewatch.cases.state import CaseState
from casewatch.cases.store import StoredEvent


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def case_view(
    state: CaseState,
    events: Sequence[StoredEvent],
    *,
    as_of: datetime,
    tz: ZoneInfo,
    case_type: str | None,
    flags: Sequence[Mapping[str, Any]] = (),
    cycles: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """`casewatch case show --format json`: contract section 2."""
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
        "flags": [flag["flag"] for flag in flags],
        "flag_details": list(flags),
        "cycles": list(cycles),
        # The stored payload already lacks the victim's personal data.
        "timeline": [dict(stored.payload) for stored in events],
    }
