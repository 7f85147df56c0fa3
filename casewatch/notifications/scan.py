"""The SLA scan: record the alert levels that have fallen due, and queue their messages.

Runs at a given `now` (the clock is a parameter). Cycles whose `next_check_at` has come
are taken in bounded batches in time order — with FOR UPDATE SKIP LOCKED on PostgreSQL,
so several workers share the work and none takes a row another holds. Each batch is one
transaction: its cases are replayed up to `now` (events later than `now` are ignored),
each due level is inserted under a unique key (so it is recorded once, whoever finds it),
its outbox messages are written with it, and the cycles' next checks are moved on. What a
pass cannot reach is reported as backlog, never silently dropped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attrs import define, frozen
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from casewatch.cases.db import upsert_insert
from casewatch.cases.store import load_histories, load_linked_events
from casewatch.cases.tables import CaseRow
from casewatch.engine.alerts import Level, levels_due, next_check, schedule
from casewatch.engine.cycles import Cycle
from casewatch.engine.store import Rulesets, pinned_versions, recorded_levels
from casewatch.engine.tables import AlertRow, SlaCycleRow
from casewatch.notifications.messages import render_alert
from casewatch.notifications.routing import Routing
from casewatch.notifications.tables import OutboxRow

_INSERT_CHUNK = 500  # rows per multi-row INSERT (SQLite allows 32,766 bound values)


@define
class ScanResult:
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    queued: int = 0
    cycles_checked: int = 0
    backlog: int = 0

    def add(self, kind: str) -> None:
        if kind == "warning":
            self.warnings += 1
        elif kind == "breach":
            self.breaches += 1
        else:
            self.escalations += 1


@frozen
class Due:
    """A level found due in this batch, not yet known to be recorded."""

    case_id: str
    cycle: Cycle
    level: Level
    policy_title: str

    def historic(self, now: datetime, routing: Routing) -> bool:
        return now - self.level.at > routing.historic_after


def scan(
    engine: Engine, rulesets: Rulesets, routing: Routing, now: datetime, tz: ZoneInfo
) -> ScanResult:
    result = ScanResult()
    for _ in range(routing.max_batches):
        with engine.connect() as conn, conn.begin():
            if not _scan_batch(
                conn, rulesets=rulesets, routing=routing, now=now, tz=tz, result=result
            ):
                break
    with engine.connect().execution_options(read_only=True) as conn, conn.begin():
        result.backlog = conn.execute(
            select(func.count()).where(SlaCycleRow.next_check_at <= now)
        ).scalar_one()
    return result


def _scan_batch(
    conn: Connection,
    *,
    rulesets: Rulesets,
    routing: Routing,
    now: datetime,
    tz: ZoneInfo,
    result: ScanResult,
) -> bool:
    query = (
        select(SlaCycleRow.id, SlaCycleRow.case_id, SlaCycleRow.policy, SlaCycleRow.started_at)
        .where(SlaCycleRow.next_check_at <= now)
        .order_by(SlaCycleRow.next_check_at, SlaCycleRow.id)
        .limit(routing.batch_size)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = conn.execute(query).all()
    if not due:
        return False
    result.cycles_checked += len(due)
    by_case: dict[str, dict[tuple[str, datetime], int]] = defaultdict(dict)
    for row in due:
        by_case[row.case_id][(row.policy, row.started_at)] = row.id
    case_ids = sorted(by_case)
    pinned = pinned_versions(conn, case_ids)
    recorded = recorded_levels(conn, case_ids)
    cases = {
        row.case_id: row
        for row in conn.execute(
            select(CaseRow.case_id, CaseRow.team, CaseRow.caseworker).where(
                CaseRow.case_id.in_(case_ids)
            )
        )
    }
    next_checks: dict[int, datetime | None] = {}
    found: list[Due] = []
    all_linked = load_linked_events(conn, case_ids)
    for history in load_histories(conn, case_ids, dict.fromkeys(case_ids)):
        version = pinned.get(history.case_id)
        rules, _ = rulesets.get(conn, version)
        known = [e for e in history.events if e.at <= now]
        linked = all_linked.get(history.case_id, ())
        linked_known = tuple(e for e in linked if e.event.at <= now)
        as_of_now = rulesets.derive(conn, history.case_id, known, version, linked_known)
        final = (
            as_of_now  # nothing recorded for later than now: the same derivation
            if len(known) == len(history.events) and len(linked_known) == len(linked)
            else rulesets.derive(conn, history.case_id, history.events, version, linked)
        )
        locked = by_case[history.case_id]
        for cycle in as_of_now.cycles:
            key = (cycle.policy, cycle.started_at)
            if key not in locked:
                continue  # another batch or worker holds this cycle
            policy = rules.policies[cycle.policy]
            already = set(recorded.get((history.case_id, *key), {}))
            for level in levels_due(cycle, policy, rulesets.calendar, now):
                if level.name not in already:
                    found.append(Due(history.case_id, cycle, level, policy.title))
                    already.add(level.name)
            recorded[(history.case_id, *key)] = dict.fromkeys(already, 0)
        for cycle in final.cycles:
            key = (cycle.policy, cycle.started_at)
            if key in locked:
                levels = schedule(cycle, rules.policies[cycle.policy], rulesets.calendar)
                done = set(recorded.get((history.case_id, *key), {}))
                next_checks[locked[key]] = next_check(levels, done, after=now)
    messages: list[dict[str, Any]] = []
    for alert_id, due_level in _record(conn, found, routing=routing, now=now):
        result.add(due_level.level.kind)
        messages += _messages(
            alert_id, due_level, case=cases[due_level.case_id], routing=routing, now=now, tz=tz
        )
    if messages:
        conn.execute(insert(OutboxRow), messages)
    result.queued += len(messages)
    conn.execute(
        update(SlaCycleRow)
        .where(SlaCycleRow.id == bindparam("cycle_id"))
        .values(next_check_at=bindparam("next_check")),
        [{"cycle_id": row.id, "next_check": next_checks.get(row.id)} for row in due],
    )
    return True


def _record(
    conn: Connection, found: Sequence[Due], *, routing: Routing, now: datetime
) -> list[tuple[int, Due]]:
    """Insert the alerts, a chunk per statement; the unique key drops any that another
    worker recorded first, and RETURNING says which were ours."""
    recorded: list[tuple[int, Due]] = []
    for offset in range(0, len(found), _INSERT_CHUNK):
        chunk = found[offset : offset + _INSERT_CHUNK]
        by_key = {(d.case_id, d.cycle.policy, d.cycle.started_at, d.level.name): d for d in chunk}
        statement = (
            upsert_insert(conn, AlertRow)
            .values(
                [
                    {
                        "case_id": d.case_id,
                        "policy": d.cycle.policy,
                        "cycle_started_at": d.cycle.started_at,
                        "cycle": d.cycle.number,
                        "level": d.level.name,
                        "at": d.level.at,
                        "recorded_at": now,
                        "recipients": json.dumps(list(routing.roles_for(d.level.name))),
                        "historic": d.historic(now, routing),
                        "superseded": False,
                    }
                    for d in chunk
                ]
            )
            .on_conflict_do_nothing(
                index_elements=["case_id", "policy", "cycle_started_at", "level"]
            )
            .returning(
                AlertRow.id,
                AlertRow.case_id,
                AlertRow.policy,
                AlertRow.cycle_started_at,
                AlertRow.level,
            )
        )
        for row in conn.execute(statement):
            key = (row.case_id, row.policy, row.cycle_started_at, row.level)
            recorded.append((row.id, by_key[key]))
    recorded.sort(key=lambda item: item[0])
    return recorded


def _messages(
    alert_id: int,
    due: Due,
    *,
    case: Any,
    routing: Routing,
    now: datetime,
    tz: ZoneInfo,
) -> list[dict[str, Any]]:
    """The outbox rows of one alert: a message per recipient role and channel."""
    rows: list[dict[str, Any]] = []
    historic = due.historic(now, routing)
    for role in routing.roles_for(due.level.name):
        message = render_alert(
            case_id=due.case_id, team=case.team, policy_title=due.policy_title,
            cycle=due.cycle.number, level=due.level.name, started_at=due.cycle.started_at,
            due_at=due.cycle.due_at, at=due.level.at, recipient=role,
            link_base_url=routing.link_base_url, tz=tz,
        )  # fmt: skip
        for channel in routing.channels_for(historic):
            address = (
                routing.address(role, case.team, case.caseworker) if channel == "email" else None
            )
            if channel == "email" and address is None:
                continue  # no address for this role: the inbox still has it
            rows.append(
                {
                    "alert_id": alert_id,
                    "channel": channel,
                    "recipient": role,
                    "address": address,
                    "idempotency_key": f"casewatch-alert-{alert_id}-{channel}-{role}",
                    "subject": message.subject,
                    "body": json.dumps({"text": message.text, "html": message.html}),
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": None,
                    "created_at": now,
                    "sent_at": None,
                }
            )
    return rows
