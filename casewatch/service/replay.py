"""A what-if's replay spread over processes: each case replays on its own, so on
PostgreSQL the cases are shared among worker processes that read the parent's exported
snapshot — every worker sees exactly the database the parent's `current` side read.

SQLite cannot share a snapshot between connections, so there the replay stays in the
parent's transaction (still one consistent read)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from sqlalchemy import Connection, Engine

from casewatch.cases.db import create_db_engine, is_sqlite
from casewatch.reports.sla import CohortCycle
from casewatch.reports.whatif import Period, Proposal, replay_cases

Replay = Callable[[Sequence[str]], Iterable[CohortCycle]]
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
    """A replay over `workers` processes (default: one per CPU), or None where it would
    not help: SQLite, one CPU, or the caller's connection not in a snapshot transaction."""
    count = workers or os.cpu_count() or 1
    if is_sqlite(conn) or count < 2:
        return None
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()

    def replay(case_ids: Sequence[str]) -> Iterator[CohortCycle]:
        if len(case_ids) < MIN_CASES:
            yield from replay_cases(conn, case_ids, make_proposal(), period)
            return
        chunks = [case_ids[i : i + CHUNK] for i in range(0, len(case_ids), CHUNK)]
        # fork: the children inherit the configuration as loaded; each builds its own
        # engine and rule matcher (durable-rules' host is per process).
        context = multiprocessing.get_context("fork")
        with context.Pool(
            count, initializer=_start, initargs=(url, make_proposal, period, snapshot)
        ) as pool:
            for cycles in pool.imap_unordered(_replay_chunk, chunks):
                yield from cycles

    return replay


def _start(url: str, make_proposal: Callable[[], Proposal], period: Period, snapshot: str) -> None:
    engine = create_db_engine(url)
    _worker.update(engine=engine, proposal=make_proposal(), period=period, snapshot=snapshot)


def _replay_chunk(case_ids: Sequence[str]) -> list[CohortCycle]:
    engine = _worker["engine"]
    proposal, period = _worker["proposal"], _worker["period"]
    assert isinstance(engine, Engine)
    assert isinstance(proposal, Proposal)
    assert isinstance(period, Period)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{_worker['snapshot']}'")
            return list(replay_cases(conn, case_ids, proposal, period))
        finally:
            transaction.rollback()
