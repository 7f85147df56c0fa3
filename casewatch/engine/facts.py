"""The measure facts of one case, from its stored events (pure).

The partnership measures count events of a type in a period and the cases open at its
end. Read from the events table, every count parsed JSON payloads and grouped a case's
openings and closings from scratch; the facts are the same information, narrow and
typed, written with the events (engine/fact_store.py) so each count is one GROUP BY.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from attrs import frozen

from casewatch.cases.clock import parse_event_time

OPEN: Final = "open"  # a span the case was open: `at` to `until` (None: still open)
OPENINGS: Final = frozenset({"case_opened", "case_reopened"})
CLOSING: Final = "case_closed"
FACT_FIELDS: Final = (
    "fact", "at", "until", "detail", "incident_at", "import_id", "line", "person", "caseworker",
)  # fmt: skip


@frozen
class StoredEvent:
    """An event as stored: its type, time, place in effect order and JSON texts' values."""

    type: str
    at: datetime
    import_id: int
    line: int
    payload: Mapping[str, Any]
    derived: Mapping[str, Any] | None


def case_facts(case_id: str, events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The rows of `measure_facts` for one case, its events given in effect order: one
    per event, then one per span the case was open."""
    opening = next((e for e in events if e.type == "case_opened"), None)
    case = {
        "case_id": case_id,
        # As the case row has them: both come from the opening alone.
        "person": ((opening.derived or {}).get("victim_link") if opening else None) or case_id,
        "caseworker": opening.payload.get("caseworker") if opening else None,
    }
    rows = [case | _event_fact(seq, event) for seq, event in enumerate(events)]
    for start, end in open_spans((e.type, e.at) for e in events):
        rows.append(
            case
            | {
                "seq": len(rows),
                "fact": OPEN,
                "at": start,
                "until": end,
                "detail": None,
                "incident_at": None,
                "import_id": None,
                "line": None,
            }
        )
    return rows


def _event_fact(seq: int, event: StoredEvent) -> dict[str, Any]:
    detail: Any = None
    incident_at = None
    if event.type == "case_opened":
        detail = event.payload.get("case_type")
    elif event.type == "referral_made":
        detail = event.payload.get("to")
        text = event.payload.get("incident_at")
        incident_at = parse_event_time(text) if text else None
    elif event.type == "risk_assessed":
        # The level fixed when the assessment was accepted, professional judgement included.
        detail = (event.derived or {}).get("level")
    return {
        "seq": seq,
        "fact": event.type,
        "at": event.at,
        "until": None,
        "detail": None if detail is None else str(detail),
        "incident_at": incident_at,
        "import_id": event.import_id,
        "line": event.line,
    }


def open_spans(
    events: Iterable[tuple[str, datetime]],
) -> list[tuple[datetime, datetime | None]]:
    """When the case was open. A case is open at T when its latest opening up to T is
    after its latest closing up to T (or it has no closing), so a closing and an opening
    at the same moment leave it closed."""
    moments: dict[datetime, bool] = {}  # moment -> is the case open just after it
    for kind, at in events:
        if kind == CLOSING:
            moments[at] = False
        elif kind in OPENINGS:
            moments.setdefault(at, True)
    spans: list[tuple[datetime, datetime | None]] = []
    since: datetime | None = None
    for at in sorted(moments):
        if moments[at] and since is None:
            since = at
        elif not moments[at] and since is not None:
            spans.append((since, at))
            since = None
    if since is not None:
        spans.append((since, None))
    return spans
