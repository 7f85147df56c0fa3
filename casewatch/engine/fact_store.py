"""Keeping `measure_facts` equal to the facts of each case's events (engine/facts.py).

Written by the same projector mechanism as the case row and the cycles, in the same
transaction as the events; `rebuild_facts` fills it for a whole database (the migration
that adds it, a restore).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, delete, select

from casewatch.cases.db import bulk_insert
from casewatch.cases.store import EFFECT_ORDER, CaseHistory
from casewatch.cases.tables import EventRow
from casewatch.engine.facts import StoredEvent, case_facts
from casewatch.engine.tables import MeasureFactRow

INSERT_BATCH: Final = 5_000
_COLUMNS: Final = (
    EventRow.case_id,
    EventRow.type,
    EventRow.at,
    EventRow.import_id,
    EventRow.line,
    EventRow.payload,
    EventRow.derived,
)


class MeasureFactProjector:
    """Rewrites the facts of the cases whose events just changed."""

    def project(self, conn: Connection, histories: Sequence[CaseHistory]) -> None:
        # A case with no projection row before this write has no facts stored either.
        existing = [h.case_id for h in histories if h.version is not None]
        write_facts(conn, [h.case_id for h in histories], existing, _as_read(histories))


def write_facts(
    conn: Connection,
    case_ids: Sequence[str],
    existing: Sequence[str],
    read: Mapping[str, Sequence[StoredEvent]] | None = None,
) -> None:
    """Replace the stored facts of `existing` and write those of every case in `case_ids`.
    `read`: every one of these cases' events, when the caller has just read them under
    the cases' lock (else they are read here)."""
    if existing:
        conn.execute(delete(MeasureFactRow).where(MeasureFactRow.case_id.in_(existing)))
    if not case_ids:
        return
    if read is not None:
        by_case = [(case_id, case_facts(case_id, read[case_id])) for case_id in case_ids]
    else:
        by_case = list(_facts_by_case(conn, case_ids))
    rows = [row for _, facts in by_case for row in facts]
    # COPY on PostgreSQL: a pipelined executemany of these many narrow rows was the
    # largest single cost of a bulk import's projection.
    bulk_insert(conn, MeasureFactRow, rows)


def _as_read(histories: Sequence[CaseHistory]) -> dict[str, list[StoredEvent]] | None:
    """The histories' events as the facts read them, if every history kept its rows."""
    if not all(h.records and len(h.records) == len(h.events) for h in histories):
        return None
    return {
        h.case_id: [
            StoredEvent(
                type=r.type,
                at=r.at,
                import_id=r.import_id,
                line=r.line,
                payload=r.payload,
                derived=json.loads(r.derived) if r.derived else None,
            )
            for r in h.records
        ]
        for h in histories
    }


def rebuild_facts(conn: Connection) -> int:
    """Every case's facts from every event, streamed: memory holds one batch. Returns the
    number of rows written."""
    conn.execute(delete(MeasureFactRow))
    batch: list[dict[str, Any]] = []
    written = 0
    for _, facts in _facts_by_case(conn, None, stream=True):
        batch += facts
        if len(batch) >= INSERT_BATCH:
            bulk_insert(conn, MeasureFactRow, batch)
            written += len(batch)
            batch = []
    if batch:
        bulk_insert(conn, MeasureFactRow, batch)
        written += len(batch)
    return written


def fresh_facts(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The facts these cases' events give now, by case (what `casewatch check` compares)."""
    return dict(_facts_by_case(conn, case_ids))


def stored_facts(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    stored: dict[str, list[dict[str, Any]]] = {}
    query = (
        select(MeasureFactRow)
        .where(MeasureFactRow.case_id.in_(case_ids))
        .order_by(MeasureFactRow.case_id, MeasureFactRow.seq)
    )
    for row in conn.execute(query).mappings():
        stored.setdefault(row["case_id"], []).append(dict(row))
    return stored


def _facts_by_case(
    conn: Connection, case_ids: Sequence[str] | None, *, stream: bool = False
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each case's facts (these cases', or every one's) from its events, read in effect
    order, one case at a time."""
    ordered = select(*_COLUMNS).order_by(EventRow.case_id, *EFFECT_ORDER)
    if case_ids is not None:
        ordered = ordered.where(EventRow.case_id.in_(case_ids))
    # Execution options given per statement: Connection.execution_options would stay on
    # the connection and turn every later statement into a server-side cursor.
    result = conn.execute(ordered, execution_options={"yield_per": INSERT_BATCH} if stream else {})
    current: str | None = None
    events: list[StoredEvent] = []
    for row in result:
        if row.case_id != current:
            if current is not None:
                yield current, case_facts(current, events)
            current, events = row.case_id, []
        events.append(
            StoredEvent(
                type=row.type,
                at=row.at,
                import_id=row.import_id,
                line=row.line,
                payload=json.loads(row.payload),
                derived=json.loads(row.derived) if row.derived else None,
            )
        )
    if current is not None:
        yield current, case_facts(current, events)
