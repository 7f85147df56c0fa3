"""A what-if's replay spread over processes: each case replays on its own, so the cases
are shared among worker processes.

On PostgreSQL the workers read the parent's exported snapshot: every worker sees exactly
the database the parent's `current` side read. SQLite cannot share a snapshot between
connections, but its writers are serialised and events are append-only, so the newest
event's sequence number says whether anything was appended: the parent reads it in its
own snapshot, and if it has moved once the workers are done, their replay is thrown away
and done again in the parent's transaction."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from sqlalchemy import Connection, Engine, func, select

from casewatch.cases.db import create_db_engine, is_sqlite
from casewatch.cases.tables import EventRow
from casewatch.reports.sla import CohortCycle
from casewatch.reports.whatif import Period, Proposal, Replay, replay_batches, replay_cases

Batch = tuple[Sequence[str], list[CohortCycle]]
CHUNK: Final = 1_000  # cases per task: large enough to amortise, small enough to balance
MIN_CASES: Final = 4 * CHUNK  # below this, starting processes costs more than it saves

_worker: dict[str, object] = {}  # one engine and proposal per worker process


def parallel_replay(
    conn: Connection,
    url: str,
    make_proposal: Callable[[], Proposal],
    period: Period,
    workers: int | None = None,
) -> Replay | None:
    """A replay over `workers` processes (default: one per CPU), or None with one CPU.
    Call it first in the caller's transaction: that is the snapshot the workers share.
    Batches come back in the order of the case ids; on PostgreSQL each as it is done, so
    the caller holds one batch at a time."""
    count = workers or os.cpu_count() or 1
    if count < 2:
        return None
    sqlite = is_sqlite(conn)
    snapshot = None if sqlite else conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
    newest = _newest_event(conn) if sqlite else None

    def replay(case_ids: Sequence[str]) -> Iterator[Batch]:
        if len(case_ids) < MIN_CASES:
            yield from replay_batches(conn, case_ids, make_proposal(), period)
            return
        chunks = [case_ids[i : i + CHUNK] for i in range(0, len(case_ids), CHUNK)]
        # fork: the children inherit the configuration as loaded; each builds its own
        # engine and rule matcher (durable-rules' host is per process).
        context = multiprocessing.get_context("fork")
        with context.Pool(
            count, initializer=_start, initargs=(url, make_proposal, period, snapshot)
        ) as pool:
            # In order, as they come: the caller compares each batch and lets it go.
            batches = zip(chunks, pool.imap(_replay_chunk, chunks), strict=True)
            if not sqlite:
                yield from batches
                return
            # SQLite: nothing is handed on before the check that no event was appended.
            held = list(batches)
        if _moved(url, newest):
            held = list(replay_batches(conn, case_ids, make_proposal(), period))
        yield from held

    return replay


def _newest_event(conn: Connection) -> int | None:
    newest: int | None = conn.execute(select(func.max(EventRow.seq))).scalar()
    return newest


def _moved(url: str, newest: int | None) -> bool:
    """Whether events were appended since the parent's snapshot was taken (SQLite)."""
    engine = create_db_engine(url)
    try:
        with engine.connect().execution_options(read_only=True) as conn:
            return _newest_event(conn) != newest
    finally:
        engine.dispose()


def _start(
    url: str, make_proposal: Callable[[], Proposal], period: Period, snapshot: str | None
) -> None:
    engine = create_db_engine(url)
    _worker.update(engine=engine, proposal=make_proposal(), period=period, snapshot=snapshot)


def _replay_chunk(case_ids: Sequence[str]) -> list[CohortCycle]:
    engine, snapshot = _worker["engine"], _worker["snapshot"]
    proposal, period = _worker["proposal"], _worker["period"]
    assert isinstance(engine, Engine)
    assert isinstance(proposal, Proposal)
    assert isinstance(period, Period)
    with engine.connect().execution_options(read_only=True) as conn:
        if snapshot is not None:
            conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            if snapshot is not None:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return list(replay_cases(conn, case_ids, proposal, period))
        finally:
            transaction.rollback()
