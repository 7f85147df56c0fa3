"""`casewatch report sla`: each policy's cohort, outcomes, percentage and RAG.

The cohort is the cycles started within the period (local dates, both inclusive) and at
or before `as_of`. Outcomes are counted by the database from the stored cycles; a running
cycle past its due time at `as_of` counts as breached. Stored cycles reflect every event,
so the few cases with events after `as_of` are replayed up to `as_of` into a temporary
table and counted alongside, with the same SQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    union_all,
)

from casewatch.cases.db import UTCDateTime
from casewatch.cases.store import load_histories
from casewatch.cases.tables import CaseRow
from casewatch.engine.policies import PolicyCatalogue
from casewatch.engine.store import Rulesets, pinned_versions
from casewatch.engine.tables import SlaCycleRow
from casewatch.reports.arithmetic import percentage, rag

GROUPINGS: Final = ("team", "case_type")
OUTCOMES: Final = ("met", "breached", "excluded", "cancelled", "open")
UNEXPLAINED: Final = "unexplained"
_REPLAY_BATCH: Final = 500

_metadata = MetaData()
replayed = Table(
    "casewatch_report_cycles",
    _metadata,
    Column("case_id", String(200)),
    Column("policy", String(100)),
    Column("state", String(20)),
    Column("started_at", UTCDateTime()),
    Column("due_at", UTCDateTime()),
    Column("outcome", String(20)),
    Column("breach_reason", Text),
    Column("exclusion_reason", Text),
    prefixes=["TEMPORARY"],
)


def period_bounds(date_from: date, date_to: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[from 00:00 local, the day after `to` 00:00 local)."""
    start = datetime.combine(date_from, time(0), tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def sla_report(
    conn: Connection,
    *,
    policies: PolicyCatalogue,
    rulesets: Rulesets,
    date_from: date,
    date_to: date,
    as_of: datetime,
    tz: ZoneInfo,
    by: str | None = None,
) -> dict[str, Any]:
    start, end = period_bounds(date_from, date_to, tz)
    cohort = and_(
        SlaCycleRow.started_at >= start,
        SlaCycleRow.started_at < end,
        SlaCycleRow.started_at <= as_of,
    )
    stale = list(
        conn.execute(
            select(SlaCycleRow.case_id)
            .join(CaseRow, CaseRow.case_id == SlaCycleRow.case_id)
            .where(cohort, CaseRow.last_event_at > as_of)
            .distinct()
        ).scalars()
    )
    replayed.create(conn)
    try:
        _replay_as_of(conn, stale, rulesets, as_of)
        rows = _count(conn, cohort=cohort, stale=stale, start=start, end=end, as_of=as_of, by=by)
    finally:
        replayed.drop(conn)
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "as_of": as_of.astimezone(tz).isoformat(),
        "slas": _entries(rows, policies, by),
    }


def _replay_as_of(
    conn: Connection, case_ids: Sequence[str], rulesets: Rulesets, as_of: datetime
) -> None:
    """Cycles of cases with events after `as_of`, derived from their events up to it."""
    for offset in range(0, len(case_ids), _REPLAY_BATCH):
        chunk = case_ids[offset : offset + _REPLAY_BATCH]
        pinned = pinned_versions(conn, chunk)
        rows: list[dict[str, Any]] = []
        for history in load_histories(conn, chunk, dict.fromkeys(chunk)):
            events = [e for e in history.events if e.at <= as_of]
            derivation = rulesets.derive(conn, history.case_id, events, pinned.get(history.case_id))
            rows.extend(
                {
                    "case_id": history.case_id,
                    "policy": c.policy,
                    "state": c.state,
                    "started_at": c.started_at,
                    "due_at": c.due_at,
                    "outcome": c.outcome,
                    "breach_reason": c.breach_reason,
                    "exclusion_reason": c.exclusion_reason,
                }
                for c in derivation.cycles
            )
        if rows:
            conn.execute(insert(replayed), rows)


def _count(
    conn: Connection,
    *,
    cohort: Any,
    stale: Sequence[str],
    start: datetime,
    end: datetime,
    as_of: datetime,
    by: str | None,
) -> list[Any]:
    stored = select(
        SlaCycleRow.case_id,
        SlaCycleRow.policy,
        SlaCycleRow.state,
        SlaCycleRow.started_at,
        SlaCycleRow.due_at,
        SlaCycleRow.outcome,
        SlaCycleRow.breach_reason,
        SlaCycleRow.exclusion_reason,
    ).where(cohort)
    if stale:
        stored = stored.where(SlaCycleRow.case_id.not_in(stale))
    fresh = select(
        replayed.c.case_id,
        replayed.c.policy,
        replayed.c.state,
        replayed.c.started_at,
        replayed.c.due_at,
        replayed.c.outcome,
        replayed.c.breach_reason,
        replayed.c.exclusion_reason,
    ).where(
        replayed.c.started_at >= start, replayed.c.started_at < end, replayed.c.started_at <= as_of
    )
    cycles = union_all(stored, fresh).subquery("cohort")
    outcome = case(
        (cycles.c.outcome.is_not(None), cycles.c.outcome),
        (and_(cycles.c.state == "running", cycles.c.due_at < as_of), literal("breached")),
        else_=literal("open"),
    )
    reason = case(
        (outcome == "breached", func.coalesce(cycles.c.breach_reason, UNEXPLAINED)),
        (outcome == "excluded", func.coalesce(cycles.c.exclusion_reason, UNEXPLAINED)),
        else_=None,
    )
    group = getattr(CaseRow, by).label("group_key") if by else literal(None).label("group_key")
    query = (
        select(
            group,
            cycles.c.policy,
            outcome.label("outcome"),
            reason.label("reason"),
            func.count().label("n"),
        )
        .select_from(cycles)
        .join(CaseRow, CaseRow.case_id == cycles.c.case_id)
        .group_by(group, cycles.c.policy, outcome, reason)
    )
    return list(conn.execute(query))


def _entries(
    rows: Sequence[Any], policies: PolicyCatalogue, by: str | None
) -> list[dict[str, Any]]:
    counts: dict[tuple[Any, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[tuple[Any, str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        key = (row.group_key, row.policy)
        counts[key][row.outcome] += row.n
        if row.reason is not None:
            reasons[(row.group_key, row.policy, row.outcome)][row.reason] += row.n
    if by is None:
        keys = [(None, policy.id) for policy in policies.policies]
    else:
        order = {policy.id: index for index, policy in enumerate(policies.policies)}
        keys = sorted(
            (k for k in counts if k[1] in order),
            key=lambda k: (k[0] is not None, k[0] or "", order[k[1]]),
        )
    entries = []
    for group_key, policy_id in keys:
        policy = policies[policy_id]
        tally = counts.get((group_key, policy_id), Counter())
        pct = percentage(tally["met"], tally["breached"])
        entry: dict[str, Any] = {"policy": policy.id, "title": policy.title}
        if by is not None:
            entry[by] = group_key
        entry |= {
            "cohort": sum(tally[o] for o in OUTCOMES),
            **{o: tally[o] for o in OUTCOMES},
            "pct": pct,
            "target_pct": policy.target_pct,
            "rag": rag(pct, policy),
            "breach_reasons": dict(sorted(reasons[(group_key, policy_id, "breached")].items())),
            "exclusion_reasons": dict(sorted(reasons[(group_key, policy_id, "excluded")].items())),
        }
        entries.append(entry)
    return entries
