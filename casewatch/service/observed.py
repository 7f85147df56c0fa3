"""What operations watches, read from the database at scrape time.

Every process — each `serve` worker, each `casewatch worker` — writes its work to the one
database, so counts read there are the same whichever process answers a scrape: no
per-process bookkeeping to add up, and nothing lost when a process restarts. Only counts,
ages and fixed names come out (alert levels, outbox states, job names): never a case
reference or anything about a person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, Engine, event, func, select

from casewatch.cases.db import upsert_insert
from casewatch.cases.tables import ImportBatch
from casewatch.engine.tables import AlertRow, SlaCycleRow
from casewatch.notifications.tables import OutboxRow
from casewatch.service.tables import SchedulerPassRow

OUTBOX_STATES = ("pending", "sent", "dead")


@frozen
class JobPass:
    passes: int
    last_at: datetime
    last_checked: int
    last_backlog: int


@frozen
class Readings:
    imports: int
    events_applied: int
    alerts: Mapping[str, int]  # level -> alerts recorded
    outbox: Mapping[str, int]  # state -> messages
    oldest_pending_seconds: float  # 0 when nothing is pending
    cycles_due: int  # cycles whose next check has come: the scan's backlog right now
    oldest_due_seconds: float  # how long the longest-waiting due check has waited
    jobs: Mapping[str, JobPass]


def read(conn: Connection, now: datetime) -> Readings:
    imports, applied = conn.execute(
        select(func.count(), func.coalesce(func.sum(ImportBatch.applied), 0))
    ).one()
    alerts = {
        row.level: row.n
        for row in conn.execute(
            select(AlertRow.level, func.count().label("n")).group_by(AlertRow.level)
        )
    }
    outbox = dict.fromkeys(OUTBOX_STATES, 0)
    for row in conn.execute(
        select(OutboxRow.state, func.count().label("n")).group_by(OutboxRow.state)
    ):
        outbox[row.state] = row.n
    oldest_pending = conn.execute(
        select(func.min(OutboxRow.created_at)).where(OutboxRow.state == "pending")
    ).scalar_one()
    due, oldest_due = conn.execute(
        select(func.count(), func.min(SlaCycleRow.next_check_at)).where(
            SlaCycleRow.next_check_at <= now
        )
    ).one()
    jobs = {
        row.job: JobPass(row.passes, row.last_at, row.last_checked, row.last_backlog)
        for row in conn.execute(select(SchedulerPassRow))
    }
    return Readings(
        imports=imports,
        events_applied=int(applied),
        alerts=alerts,
        outbox=outbox,
        oldest_pending_seconds=_age(now, oldest_pending),
        cycles_due=due,
        oldest_due_seconds=_age(now, oldest_due),
        jobs=jobs,
    )


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def record_pass(engine: Engine, job: str, now: datetime, checked: int, backlog: int) -> None:
    """Count a finished pass of a scheduler job; several processes may finish at once."""
    insert = upsert_insert(engine, SchedulerPassRow).values(
        job=job, passes=1, last_at=now, last_checked=checked, last_backlog=backlog
    )
    with engine.connect() as conn, conn.begin():
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[SchedulerPassRow.job],
                set_={
                    "passes": SchedulerPassRow.passes + 1,
                    "last_at": insert.excluded.last_at,
                    "last_checked": insert.excluded.last_checked,
                    "last_backlog": insert.excluded.last_backlog,
                },
            )
        )


def read_now(engine: Engine, now: datetime) -> Readings:
    """The figures, in a read-only transaction of their own (a scrape's)."""
    with engine.connect().execution_options(read_only=True) as conn, conn.begin():
        return read(conn, now)


def watch_pool(
    engine: Engine, size: Callable[[int], None], checked_out: Callable[[int], None]
) -> None:
    """Report the pool's size now and its connections in use on every change."""
    pool: Any = engine.pool
    if hasattr(pool, "size"):
        size(pool.size())

    def on_change(*_: object) -> None:
        if hasattr(pool, "checkedout"):
            checked_out(pool.checkedout())

    event.listen(pool, "checkout", on_change)
    event.listen(pool, "checkin", on_change)
