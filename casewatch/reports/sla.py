"""`casewatch report sla`: each policy's cohort, outcomes, percentage and RAG.

The cohort is the cycles started within the period (local dates, both inclusive) and at
or before `as_of`. Outcomes are counted by the database from the stored cycles; a running
cycle past its due time at `as_of` counts as breached. Stored cycles reflect every event,
so the few cases with events after `as_of` are replayed up to `as_of` into a temporary
table and counted alongside, with the same SQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import (
    Column,
    Connection,
    Integer,
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
from casewatch.cases.store import load_histories, load_linked_events
from casewatch.cases.tables import CaseRow
from casewatch.engine.policies import PolicyCatalogue
from casewatch.engine.store import Rulesets, pinned_versions
from casewatch.engine.tables import SlaCycleRow
from casewatch.reports.arithmetic import one_decimal, percentage, rag
from casewatch.reports.periods import Period, quarters_between

GROUPINGS: Final = ("team", "case_type", "risk", "caseworker", "quarter")
OUTCOMES: Final = ("met", "breached", "excluded", "cancelled", "open")
MISSED: Final = ("breached", "excluded")
UNEXPLAINED: Final = "unexplained"
CASE_FACTS: Final = ("team", "case_type", "caseworker", "risk")  # a cycle's case's, by name
_REPLAY_BATCH: Final = 500
_DAY_SECONDS: Final = 86_400
_NOT_LATE: Final = timedelta(0)

_metadata = MetaData()
replayed = Table(
    "casewatch_report_cycles",
    _metadata,
    Column("case_id", String(200)),
    Column("policy", String(100)),
    Column("cycle", Integer),
    Column("state", String(20)),
    Column("started_at", UTCDateTime()),
    Column("due_at", UTCDateTime()),
    Column("stopped_at", UTCDateTime()),
    Column("outcome", String(20)),
    Column("breach_reason", Text),
    Column("exclusion_reason", Text),
    Column("team", String(200)),
    Column("case_type", String(40)),
    Column("caseworker", String(200)),
    Column("risk", String(20)),
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
    details: bool = False,
    by_quarter: bool = False,
) -> dict[str, Any]:
    """The contract's report; with `by`, also `totals` (one per policy, the sum of the
    groups); with `details`, `misses`: every breached and excluded cycle of the cohort;
    with `by_quarter` (and no `by`), `quarters`: the entries of each quarter, from the
    same count as the totals (the report itself is their sum), so a trend of the
    period's own span costs no second count."""
    if by_quarter and by is not None:
        raise ValueError("by_quarter goes with no other breakdown")
    window = _window(date_from, date_to, as_of, tz)
    counted = "quarter" if by_quarter else by
    with _cohort_as_of(conn, rulesets, window) as cohort:
        rows = list(conn.execute(_count_query(cohort(_by_case(counted)), counted, window)))
        misses = _misses(conn, cohort(True), window, policies) if details else None
    report: dict[str, Any] = {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "as_of": as_of.astimezone(tz).isoformat(),
        "slas": _entries(rows, policies, by),
    }
    if by is not None:
        report["totals"] = _entries(rows, policies, None)
    if misses is not None:
        report["misses"] = misses
    if by_quarter:
        report["quarters"] = _entries(rows, policies, "quarter")
    return report


@attrs.frozen
class CohortCycle:
    """One cycle of a report's cohort with its outcome at `as_of` (`open` while
    undecided), the reason counted for it, and its case's group for a breakdown."""

    case_id: str
    policy: str
    cycle: int
    started_at: datetime
    outcome: str
    reason: str | None
    group: str | None


def cohort_cycles(
    conn: Connection,
    *,
    rulesets: Rulesets,
    date_from: date,
    date_to: date,
    as_of: datetime,
    tz: ZoneInfo,
    by: str | None = None,
) -> list[CohortCycle]:
    """Each cycle `report sla` counts for these options, one by one: its figures are
    `entries(tally(cycles), ...)`, which is what a what-if compares cycle by cycle."""
    with cohort_reader(
        conn, rulesets=rulesets, date_from=date_from, date_to=date_to, as_of=as_of, tz=tz, by=by
    ) as cohort:
        return list(cohort.every())


@contextmanager
def cohort_reader(
    conn: Connection,
    *,
    rulesets: Rulesets,
    date_from: date,
    date_to: date,
    as_of: datetime,
    tz: ZoneInfo,
    by: str | None = None,
) -> Iterator[CohortReader]:
    """The cycles of `cohort_cycles`, to be read inside the block a few cases at a time."""
    window = _window(date_from, date_to, as_of, tz)
    with _cohort_as_of(conn, rulesets, window) as cohort:
        cycles = cohort(_by_case(by))
        yield CohortReader(conn, cycles, _group_key(cycles, by, window))


class CohortReader:
    """A cohort's cycles read by case, so a what-if over a large cohort holds only the
    cases it is comparing."""

    def __init__(self, conn: Connection, cycles: Any, group: Any) -> None:
        self.conn = conn
        self.cycles = cycles
        self.group = group

    def of_cases(self, case_ids: Sequence[str]) -> list[CohortCycle]:
        query = self._query().where(self.cycles.c.case_id.in_(list(case_ids)))
        return [CohortCycle(*row) for row in self.conn.execute(query)]

    def every(self) -> Iterator[CohortCycle]:
        result = self.conn.execute(self._query(), execution_options={"yield_per": 5_000})
        for row in result:
            yield CohortCycle(*row)

    def count(self) -> int:
        counted: int = self.conn.execute(select(func.count()).select_from(self.cycles)).scalar_one()
        return counted

    def _query(self) -> Any:
        c = self.cycles.c
        return select(c.case_id, c.policy, c.cycle, c.started_at, c.outcome, c.reason, self.group)


@attrs.frozen
class Tally:
    """A count of cycles with one group, policy, outcome and reason: a row of the report."""

    group_key: str | None
    policy: str
    outcome: str
    reason: str | None
    n: int


def tally(cycles: Iterable[CohortCycle]) -> list[Tally]:
    counts = Counter((c.group, c.policy, c.outcome, c.reason) for c in cycles)
    return [Tally(*key, n) for key, n in counts.items()]


def entries(rows: Sequence[Any], policies: PolicyCatalogue, by: str | None) -> list[dict[str, Any]]:
    """The report's entries from counted rows (SQL's or `tally`'s): one arithmetic."""
    return _entries(rows, policies, by)


@attrs.frozen
class _Window:
    start: datetime
    end: datetime
    as_of: datetime
    tz: ZoneInfo
    quarters: Sequence[Period]


def _window(date_from: date, date_to: date, as_of: datetime, tz: ZoneInfo) -> _Window:
    start, end = period_bounds(date_from, date_to, tz)
    return _Window(start, end, as_of, tz, quarters_between(date_from, date_to))


@contextmanager
def _cohort_as_of(
    conn: Connection, rulesets: Rulesets, window: _Window
) -> Iterator[Callable[[bool], Any]]:
    """The cohort's cycles as a subquery, valid inside the block: stored cycles, with the
    cases that have events after `as_of` replayed up to it into a temporary table. The
    block is given `cohort(case_facts)`: with `case_facts`, each cycle also has its case's
    team, case type, caseworker and risk (a join of the cases the counts without a
    breakdown by them do not need)."""
    stale = list(
        conn.execute(
            select(SlaCycleRow.case_id)
            .join(CaseRow, CaseRow.case_id == SlaCycleRow.case_id)
            .where(_cohort(SlaCycleRow, window), CaseRow.last_event_at > window.as_of)
            .distinct()
        ).scalars()
    )
    replayed.create(conn)
    try:
        _replay_as_of(conn, stale, rulesets, window.as_of)
        yield lambda case_facts: _cohort_cycles(window, stale, case_facts=case_facts)
    finally:
        replayed.drop(conn)


def _cohort(table: Any, window: _Window) -> Any:
    started = table.started_at
    return and_(started >= window.start, started < window.end, started <= window.as_of)


def _replay_as_of(
    conn: Connection, case_ids: Sequence[str], rulesets: Rulesets, as_of: datetime
) -> None:
    """Cycles of cases with events after `as_of`, derived from their events up to it."""
    for offset in range(0, len(case_ids), _REPLAY_BATCH):
        chunk = case_ids[offset : offset + _REPLAY_BATCH]
        pinned = pinned_versions(conn, chunk)
        rows: list[dict[str, Any]] = []
        linked = load_linked_events(conn, chunk, as_of)
        for history in load_histories(conn, chunk, dict.fromkeys(chunk)):
            events = [e for e in history.events if e.at <= as_of]
            derivation = rulesets.derive(
                conn,
                history.case_id,
                events,
                pinned.get(history.case_id),
                linked.get(history.case_id, ()),
            )
            state = derivation.state
            rows.extend(
                {
                    "case_id": history.case_id,
                    "policy": c.policy,
                    "cycle": c.number,
                    "state": c.state,
                    "started_at": c.started_at,
                    "due_at": c.due_at,
                    "stopped_at": c.stopped_at,
                    "outcome": c.outcome,
                    "breach_reason": c.breach_reason,
                    "exclusion_reason": c.exclusion_reason,
                    "team": state.team,
                    "case_type": state.case_type,
                    "caseworker": state.caseworker,
                    "risk": state.risk.level if state.risk else None,
                }
                for c in derivation.cycles
            )
        if rows:
            conn.execute(insert(replayed), rows)


def _cohort_cycles(window: _Window, stale: Sequence[str], *, case_facts: bool) -> Any:
    """The cohort's cycles as stood at `as_of`: stored ones, and replayed ones for the
    cases with later events; with each cycle's outcome at `as_of` and, with `case_facts`,
    its case's facts (every cycle has its case: the join drops none)."""
    stored = select(
        SlaCycleRow.case_id,
        SlaCycleRow.policy,
        SlaCycleRow.cycle,
        SlaCycleRow.state,
        SlaCycleRow.started_at,
        SlaCycleRow.due_at,
        SlaCycleRow.stopped_at,
        SlaCycleRow.outcome,
        SlaCycleRow.breach_reason,
        SlaCycleRow.exclusion_reason,
    ).where(_cohort(SlaCycleRow, window))
    fresh_columns = list(replayed.c)
    if case_facts:
        stored = stored.add_columns(
            CaseRow.team, CaseRow.case_type, CaseRow.caseworker, CaseRow.risk_level.label("risk")
        ).join(CaseRow, CaseRow.case_id == SlaCycleRow.case_id)
    else:
        fresh_columns = [c for c in fresh_columns if c.name not in CASE_FACTS]
    if stale:
        stored = stored.where(SlaCycleRow.case_id.not_in(stale))
    fresh = select(*fresh_columns).where(_cohort(replayed.c, window))
    both = union_all(stored, fresh).subquery("both_cycles")
    outcome = case(
        (both.c.outcome.is_not(None), both.c.outcome),
        (and_(both.c.state == "running", both.c.due_at < window.as_of), literal("breached")),
        else_=literal("open"),
    )
    reason = case(
        (outcome == "breached", func.coalesce(both.c.breach_reason, UNEXPLAINED)),
        (outcome == "excluded", func.coalesce(both.c.exclusion_reason, UNEXPLAINED)),
        else_=None,
    )
    return (
        select(
            both.c.case_id,
            both.c.policy,
            both.c.cycle,
            both.c.started_at,
            both.c.due_at,
            both.c.stopped_at,
            outcome.label("outcome"),
            reason.label("reason"),
            *(both.c[name] for name in CASE_FACTS if case_facts),
        )
    ).subquery("cohort")


def _by_case(by: str | None) -> bool:
    """Whether counting by `by` needs the case's facts beside each cycle."""
    return by in CASE_FACTS


def _group_key(cycles: Any, by: str | None, window: _Window) -> Any:
    if by is None:
        return literal(None)
    if by == "quarter":
        # Quarter boundaries are local midnights, computed here so DST and the database's
        # own time handling never enter into it.
        return case(
            *(
                (cycles.c.started_at < period_bounds(q.first, q.last, window.tz)[1], q.label)
                for q in window.quarters
            ),
            else_=None,
        )
    return getattr(cycles.c, by)


def _count_query(cycles: Any, by: str | None, window: _Window) -> Any:
    group = _group_key(cycles, by, window).label("group_key")
    return select(
        group, cycles.c.policy, cycles.c.outcome, cycles.c.reason, func.count().label("n")
    ).group_by(group, cycles.c.policy, cycles.c.outcome, cycles.c.reason)


def _misses(
    conn: Connection, cycles: Any, window: _Window, policies: PolicyCatalogue
) -> list[dict[str, Any]]:
    """Breached and excluded cycles, by policy then due time: case references only."""
    c = cycles.c
    query = (
        select(
            c.policy, c.case_id, c.team, c.outcome, c.started_at, c.due_at, c.stopped_at, c.reason
        )
        .where(c.outcome.in_(MISSED))
        .order_by(c.policy, c.due_at, c.case_id)
    )
    order = {policy_id: index for index, policy_id in enumerate(policies.ids)}
    tz, as_of = window.tz, window.as_of
    misses = [
        {
            "policy": policy,
            "case_id": case_id,
            "team": team,
            "outcome": outcome,
            "started_at": started.astimezone(tz).isoformat(),
            "due_at": due.astimezone(tz).isoformat(),
            "stopped_at": None if stopped is None else stopped.astimezone(tz).isoformat(),
            "days_late": days_late(due, stopped, as_of),
            "reason": reason,
        }
        # all(): one fetch, then plain tuples; a row at a time costs more than the rest
        for policy, case_id, team, outcome, started, due, stopped, reason in conn.execute(
            query
        ).all()
        if policy in order
    ]
    misses.sort(key=lambda m: order[m["policy"]])  # stable: due order kept within a policy
    return misses


def days_late(due_at: datetime, stopped_at: datetime | None, as_of: datetime) -> float | None:
    """Calendar days from due to stop (or to `as_of`, still running); None if not late."""
    end = stopped_at if stopped_at is not None and stopped_at <= as_of else as_of
    late = end - due_at
    if late <= _NOT_LATE:
        return None
    if late.microseconds:
        return one_decimal(Decimal(late.total_seconds()) / _DAY_SECONDS)
    # Whole seconds (nearly every time): the same half-up rounding in integers, several
    # times faster than Decimal for a drill-down of 100,000s of misses.
    tenths, rest = divmod((late.days * _DAY_SECONDS + late.seconds) * 10, _DAY_SECONDS)
    return (tenths + (2 * rest >= _DAY_SECONDS)) / 10


def _entries(
    rows: Sequence[Any], policies: PolicyCatalogue, by: str | None
) -> list[dict[str, Any]]:
    """Entries of the report; with `by` None, rows of any grouping are summed per policy."""
    counts: dict[tuple[Any, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[tuple[Any, str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        group_key = row.group_key if by is not None else None
        counts[(group_key, row.policy)][row.outcome] += row.n
        if row.reason is not None:
            reasons[(group_key, row.policy, row.outcome)][row.reason] += row.n
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
            "amber_band": policy.amber_band,
            "rag": rag(pct, policy),
            "breach_reasons": dict(sorted(reasons[(group_key, policy_id, "breached")].items())),
            "exclusion_reasons": dict(sorted(reasons[(group_key, policy_id, "excluded")].items())),
        }
        entries.append(entry)
    return entries
