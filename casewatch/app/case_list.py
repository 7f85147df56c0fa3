"""The case list: every case a person may see that the filters keep, one page of them
with their RAG and breaches, how many in all, and the team dashboard's counts. The list
pages one query and the counts group the same query, so both always agree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from attrs import Factory, asdict, frozen
from sqlalchemy import (
    Connection,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    null,
    or_,
    select,
    union_all,
)

from casewatch.app.case_view import _victims
from casewatch.cases.clock import local_iso
from casewatch.cases.tables import CaseRow
from casewatch.cases.wording import late_by
from casewatch.engine.tables import CaseFlagRow, SlaCycleRow
from casewatch.service.access import Principal, Role
from casewatch.service.tables import CaseShareRow

MAX_PAGE: Final = 500


@frozen
class CaseFilters:
    team: str | None = None
    risk: str | None = None
    flag: str | None = None
    due_within_days: int | None = None
    breached: bool | None = None
    status: str | None = "open"
    caseworker: str | None = None
    at_risk: bool = False  # only cases with a target breached or past its warning point
    limit: int = 100
    offset: int = 0


@frozen
class BreachSummary:
    """A target of the case that is breached, or running past its due time."""

    policy: str
    cycle: int
    due_at: str
    late: str  # in words: "2 days 3 hours late" (until it stopped, or until now)
    reason: str | None  # the breach reason recorded, if any


@frozen
class CaseSummary:
    """One row of a case list: enough to decide what to open next."""

    case_id: str
    case_type: str | None
    team: str | None
    caseworker: str | None
    status: str
    risk_level: str | None
    flags: list[str]
    next_due_at: str | None  # the soonest due time of a running cycle not yet overdue
    rag: str | None  # the worst of the case's cycles that are running or breached
    breached: bool
    victim_name: str | None = None
    breaches: list[BreachSummary] = Factory(list)


@frozen
class CasePage:
    cases: list[CaseSummary]
    total: int  # every case the filters keep, not only this page


def _case_rag(now: datetime) -> dict[str, Any]:
    """The case list's RAG at `now` from the case row's RAG columns, which the engine keeps
    with the cycles: red (`breached`) is a breached target or a running one past due,
    amber (`warned`) a running one past its warning point."""
    c = CaseRow
    return {
        "breached": case((or_(c.rag_breached, c.rag_due_at < now), 1), else_=0),
        "warned": case((c.rag_warn_at <= now, 1), else_=0),
        "running": case((c.rag_running, 1), else_=0),
    }


def _next_due(now: datetime, later: Any, part: str | None) -> Any:
    """The soonest due time still ahead: the row's, or, for a case whose soonest has
    passed, `later`'s (_later_due). Within one part of a page (_PAGE_PARTS) it is known
    without `later` for the first and the last."""
    due = CaseRow.rag_due_at
    if part == "due_ahead":
        return due
    if part == "none_ahead":
        return cast(null(), due.type)
    return case((due >= now, due), else_=later.c.next_due)


def _later_due(who: Principal, now: datetime) -> Any:
    """Per case with one running target overdue and another still ahead (as its row
    says), the soonest due time still ahead: the only RAG figure that reads cycles, and
    only theirs. A join, not a subquery per case, which PostgreSQL would cost for every
    case listed and start compiling (JIT) on a large list."""
    c, s = CaseRow, SlaCycleRow
    mixed = select(c.case_id).where(_visible_to(who), c.rag_due_at < now, c.rag_last_due_at >= now)
    return (
        select(s.case_id, func.min(s.due_at).label("next_due"))
        .where(s.case_id.in_(mixed), s.state == "running", s.due_at >= now)
        .group_by(s.case_id)
        .subquery()
    )


def _case_query(
    who: Principal, filters: CaseFilters, now: datetime, *rag: str, part: str | None = None
) -> Any:
    """Every case this person may see that the filters keep, unordered and unpaged, with
    the `rag` figures named: the list pages it, the counts group it, so both always agree.
    `part` keeps only one of the parts a page is read from (_PAGE_PARTS)."""
    c = CaseRow
    later = _later_due(who, now) if part not in ("due_ahead", "none_ahead") else None
    figures = _case_rag(now) | {"next_due": _next_due(now, later, part)}
    query = select(
        c.case_id,
        c.case_type,
        c.team,
        c.caseworker,
        c.status,
        c.risk_level,
        *(figures[name].label(name) for name in rag),
    ).where(_visible_to(who))
    if later is not None and ("next_due" in rag or filters.due_within_days is not None):
        query = query.outerjoin(later, later.c.case_id == c.case_id)
    if part is not None:
        query = query.where(_PAGE_PARTS[part](now))
    if filters.team is not None:
        query = query.where(c.team == filters.team)
    if filters.status is not None:
        query = query.where(c.status == filters.status)
    if filters.caseworker is not None:
        query = query.where(c.caseworker == filters.caseworker)
    if filters.risk is not None:
        query = query.where(c.risk_level == filters.risk)
    if filters.flag is not None:
        query = query.where(
            exists().where(CaseFlagRow.case_id == c.case_id, CaseFlagRow.flag == filters.flag)
        )
    if filters.breached is not None:
        query = query.where(figures["breached"] == (1 if filters.breached else 0))
    if filters.at_risk:
        # breached == 1 or warned == 1, written so the case row's index can serve it
        query = query.where(or_(c.rag_breached, c.rag_due_at < now, c.rag_warn_at <= now))
    if filters.due_within_days is not None:
        horizon = now + timedelta(days=filters.due_within_days)
        query = query.where(figures["next_due"] <= horizon)
    return query


def count_cases(conn: Connection, who: Principal, filters: CaseFilters, now: datetime) -> int:
    """How many cases the filters keep, before paging: what a list of them says it shows."""
    matching = _case_query(who, filters, now).subquery()
    return int(conn.execute(select(func.count()).select_from(matching)).scalar_one())


@frozen
class TeamCounts:
    """A team's cases that the filters keep: how many, how many at each RAG, how many high
    risk. Red is a breached or overdue target; amber one past its warning point only."""

    team: str | None
    cases: int
    red: int
    amber: int
    high: int


@frozen
class TeamSummary:
    teams: list[TeamCounts]  # one per team of the manager's, in name order
    at_risk: list[CaseSummary]  # the first page of them, soonest due first
    at_risk_total: int
    alerts_waiting: int


def team_counts(
    conn: Connection, who: Principal, filters: CaseFilters, now: datetime
) -> list[TeamCounts]:
    """The dashboard's figures, one GROUP BY over every matching case's row (no page
    limit, no cycles read)."""
    matching = _case_query(who, filters, now, "breached", "warned").subquery()
    red = matching.c.breached == 1
    amber = and_(matching.c.breached == 0, matching.c.warned == 1)
    query = (
        select(
            matching.c.team,
            func.count().label("cases"),
            func.sum(case((red, 1), else_=0)).label("red"),
            func.sum(case((amber, 1), else_=0)).label("amber"),
            func.sum(case((matching.c.risk_level == "high", 1), else_=0)).label("high"),
        )
        .group_by(matching.c.team)
        .order_by(matching.c.team)
    )
    return [
        TeamCounts(row.team, int(row.cases), int(row.red), int(row.amber), int(row.high))
        for row in conn.execute(query)
    ]


def _due_ahead(now: datetime) -> Any:
    """Its soonest running target still ahead: that is its next due time."""
    return CaseRow.rag_due_at >= now


def _mixed(now: datetime) -> Any:
    """Its soonest running target overdue, a later one still ahead: the cycles say when."""
    return and_(CaseRow.rag_due_at < now, CaseRow.rag_last_due_at >= now)


def _none_ahead(now: datetime) -> Any:
    """No running target still ahead (none running, or all overdue): no next due time.
    Exactly the cases in neither part above, written so that no index on the due times
    serves it (with one, SQLite would read every overdue case and sort them, rather than
    read the team's cases in order and stop)."""
    return and_(~func.coalesce(_due_ahead(now), false()), ~func.coalesce(_mixed(now), false()))


# Every case is in exactly one part, and within a part its order is read off an index
# (ix_cases_team_due for the first; ix_cases_team_status or the primary key for the
# last) or, for the mixed cases (ix_cases_team_last_due finds them), sorted: a page is
# the first of each part's first `offset + limit` rows, merged.
_PAGE_PARTS: Final = {"due_ahead": _due_ahead, "mixed": _mixed, "none_ahead": _none_ahead}


def _part_order(part: str, next_due: Any) -> tuple[Any, ...]:
    """Each part's order, said so that an index can give it (a constant next due time is
    left out: SQLite would sort by it rather than see that the index gives the order)."""
    if part == "due_ahead":
        return (CaseRow.rag_due_at, CaseRow.case_id)
    if part == "none_ahead":
        return (CaseRow.case_id,)
    return (next_due.is_(None), next_due, CaseRow.case_id)


def _page_query(who: Principal, filters: CaseFilters, now: datetime) -> Any:
    """One page of the matching cases, soonest target due first (then those with none
    ahead, by reference), without sorting every matching case: each part, per team of a
    manager's, is read in that order and stops at the page's end, and the few rows read
    are merged. The same order and rows as sorting the whole list."""
    limit = min(max(filters.limit, 1), MAX_PAGE)
    offset = max(filters.offset, 0)
    teams: list[str | None] = [None]
    if who.role is Role.MANAGER and filters.team is None and who.teams:
        teams = [*sorted(who.teams)]
    parts = []
    for part in _PAGE_PARTS:
        if part == "none_ahead" and filters.due_within_days is not None:
            continue  # no next due time is within any horizon
        whole = _case_query(
            who, filters, now, "next_due", "breached", "warned", "running", part=part
        )
        order = _part_order(part, whole.selected_columns.next_due)
        for team in teams:
            query = whole if team is None else whole.where(CaseRow.team == team)
            parts.append(query.order_by(*order).limit(offset + limit).subquery())
    merged = union_all(*(select(part) for part in parts)).subquery()
    return (
        select(merged)
        .order_by(merged.c.next_due.is_(None), merged.c.next_due, merged.c.case_id)
        .limit(limit)
        .offset(offset)
    )


def list_cases(
    conn: Connection, who: Principal, filters: CaseFilters, now: datetime, tz: Any
) -> list[CaseSummary]:
    """One page of the matching cases, soonest target due first."""
    rows = conn.execute(_page_query(who, filters, now)).all()
    ids = [row.case_id for row in rows]
    flags: dict[str, list[str]] = {}
    for case_id, flag in conn.execute(
        select(CaseFlagRow.case_id, CaseFlagRow.flag)
        .where(CaseFlagRow.case_id.in_(ids))
        .order_by(CaseFlagRow.case_id, CaseFlagRow.flag)
    ):
        flags.setdefault(case_id, []).append(flag)
    names = _victim_names(conn, ids) if who.sees_personal_data else {}
    breaches = _breaches(conn, ids, now, tz)
    return [
        CaseSummary(
            case_id=row.case_id,
            case_type=row.case_type,
            team=row.team,
            caseworker=row.caseworker,
            status=row.status,
            risk_level=row.risk_level,
            flags=flags.get(row.case_id, []),
            next_due_at=local_iso(_utc(row.next_due), tz),
            rag=_rag_name(row.breached, row.warned, row.running),
            breached=bool(row.breached),
            victim_name=names.get(row.case_id),
            breaches=breaches.get(row.case_id, []),
        )
        for row in rows
    ]


def _breaches(
    conn: Connection, case_ids: Sequence[str], now: datetime, tz: Any
) -> dict[str, list[BreachSummary]]:
    """Each listed case's breached or overdue targets: due when, how late, and why."""
    s = SlaCycleRow
    overdue = or_(s.outcome == "breached", and_(s.state == "running", s.due_at < now))
    found: dict[str, list[BreachSummary]] = {}
    for row in conn.execute(
        select(s.case_id, s.policy, s.cycle, s.due_at, s.stopped_at, s.breach_reason)
        .where(s.case_id.in_(case_ids), overdue)
        .order_by(s.case_id, s.due_at, s.policy, s.cycle)
    ):
        due = _utc(row.due_at)
        until = _utc(row.stopped_at) or now
        assert due is not None
        found.setdefault(row.case_id, []).append(
            BreachSummary(
                policy=row.policy,
                cycle=row.cycle,
                due_at=local_iso(due, tz) or "",
                late=late_by(until - due),
                reason=row.breach_reason,
            )
        )
    return found


def visible_cases(who: Principal) -> Any:
    """The cases `who` may see, as a condition on `cases` (the lists' access rule)."""
    return _visible_to(who)


def _visible_to(who: Principal) -> Any:
    """The SQL form of access.can_view_case, for lists."""
    teams = sorted(who.teams)
    if who.role is Role.PSG:
        return CaseRow.case_id.is_not(None)
    if who.role is Role.MANAGER:
        return CaseRow.team.in_(teams)
    if who.role is Role.CASEWORKER:
        shared = select(CaseShareRow.case_id).where(CaseShareRow.agency == who.agency)
        return or_(CaseRow.team.in_(teams), CaseRow.case_id.in_(shared))
    return CaseRow.case_id.is_(None)


def _victim_names(conn: Connection, case_ids: Sequence[str]) -> dict[str, str]:
    return {
        case_id: victim["name"]
        for case_id, victim in _victims(conn, case_ids).items()
        if isinstance(victim.get("name"), str)
    }


def _rag_name(breached: int | None, warned: int | None, running: int | None) -> str | None:
    if breached:
        return "red"
    if warned:
        return "amber"
    return "green" if running else None


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates lose the column type on SQLite: naive UTC text comes back."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _non_default(filters: CaseFilters) -> dict[str, Any]:
    """The filters someone actually set, for the audit row."""
    defaults = asdict(CaseFilters())
    return {k: v for k, v in asdict(filters).items() if v != defaults[k]}
