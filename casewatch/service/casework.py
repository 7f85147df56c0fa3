"""What people do through the HTTP API and the pages, once, for both.

Each operation checks access (casewatch.service.access), does its work in one
transaction and writes its audit row in that same transaction. Events go through the
same importer as `casewatch import`, so a posted event is validated, worded and applied
exactly as a line of a file would be.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from attrs import Factory, asdict, frozen
from sqlalchemy import Connection, and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from casewatch.cases.clock import local_iso
from casewatch.cases.db import upsert_insert
from casewatch.cases.importing import Importer, ImportSummary
from casewatch.cases.problems import Problem
from casewatch.cases.store import (
    ConcurrentUpdateError,
    linked_cases,
    load_case_events,
    load_linked_events,
)
from casewatch.cases.tables import CaseRow, PersonalDataRow
from casewatch.cases.validation import nesting_problems
from casewatch.cases.wording import late_by
from casewatch.engine.store import pinned_versions
from casewatch.engine.tables import AlertRow, CaseFlagRow, SlaCycleRow
from casewatch.service import audit
from casewatch.service.access import (
    Action,
    CaseScope,
    Principal,
    Role,
    alert_recipients,
    can_edit_case,
    can_open_case_in,
    can_share_case,
    can_view_case,
)
from casewatch.service.runtime import Runtime
from casewatch.service.tables import AlertAcknowledgementRow, CaseShareRow, UserRow
from casewatch.service.views import CaseView, case_view

MAX_PAGE: Final = 500
_WRITE_ATTEMPTS: Final = 3
_MAX_ROW_ID: Final = 2**63 - 1


class NotFoundError(LookupError):
    """No such case (or alert) — also what people without access are told, so a case
    reference cannot be probed."""


class ForbiddenError(PermissionError):
    """The person is signed in but their role may not do this at all."""


class ConflictError(RuntimeError):
    """The case kept changing under the request; trying again will work."""


WHOLE_EVENT: Final = "body"  # the field named by a problem of the event as a whole


class InvalidEventError(ValueError):
    """An event refused, with the validator's problems (each names its field path)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{field}: {words}" for field, words in self.fields()))

    def fields(self) -> list[tuple[str, str]]:
        """(field path, words) of each problem, as the API and the pages show them."""
        return [(p.path or WHOLE_EVENT, p.words) for p in self.problems]


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


@frozen
class AlertItem:
    id: int
    case_id: str
    policy: str
    cycle: int
    level: str
    at: str
    recipients: list[str]
    superseded: bool
    acknowledged_at: str | None
    acknowledged_by: str | None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Casework:
    def __init__(self, runtime: Runtime, clock: Callable[[], datetime] = utc_now) -> None:
        self.runtime = runtime
        self.clock = clock
        self.tz = runtime.config.timezone

    # -- cases ------------------------------------------------------------------------

    def view_case(
        self, who: Principal, case_id: str, *, address: str | None, as_of: datetime | None = None
    ) -> CaseView:
        """The case, audited as viewed. The audit row is committed before the view is
        returned: a view that could not be recorded is not shown."""
        view = self._current_view(who, case_id, as_of)
        with self.runtime.engine.connect() as conn, conn.begin():
            audit.record(
                conn,
                who,
                "case.view",
                now=self.clock(),
                address=address,
                case_id=case_id,
                detail={"personal_data": who.sees_personal_data},
            )
        return view

    def _current_view(self, who: Principal, case_id: str, as_of: datetime | None) -> CaseView:
        # A read-only transaction: on SQLite it does not queue behind writers' lock.
        with self._reading() as conn:
            scope = self._visible(conn, who, case_id)
            return self._read(conn, scope, as_of or self.clock(), who=who)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            yield conn

    def list_cases(
        self, who: Principal, filters: CaseFilters, *, address: str | None
    ) -> list[CaseSummary]:
        return self.case_page(who, filters, address=address, counted=False).cases

    def case_page(
        self, who: Principal, filters: CaseFilters, *, address: str | None, counted: bool = True
    ) -> CasePage:
        """One page of the matching cases and (when `counted`) how many match in all."""
        if not who.may(Action.LIST_CASES):
            raise ForbiddenError
        now = self.clock()
        with self._reading() as conn:
            summaries = list_cases(conn, who, filters, now, self.tz)
            total = count_cases(conn, who, filters, now) if counted else len(summaries)
        self._audit_list(who, filters, len(summaries), now, address)
        return CasePage(summaries, total)

    def team_summary(
        self, who: Principal, *, address: str | None, at_risk_shown: int = 100
    ) -> TeamSummary:
        """The manager's dashboard: every open case of their teams counted in SQL, the
        first page of those at risk, and how many alerts wait for them."""
        if not who.may(Action.VIEW_TEAM):
            raise ForbiddenError
        now = self.clock()
        at_risk = CaseFilters(at_risk=True, limit=at_risk_shown)
        with self._reading() as conn:
            counts = {t.team: t for t in team_counts(conn, who, CaseFilters(), now)}
            cases = list_cases(conn, who, at_risk, now, self.tz)
            waiting = count_alerts(conn, who, include_acknowledged=False)
        teams = [counts.get(team) or TeamCounts(team, 0, 0, 0, 0) for team in sorted(who.teams)]
        self._audit_list(who, at_risk, len(cases), now, address)
        return TeamSummary(teams, cases, sum(t.red + t.amber for t in teams), waiting)

    def _audit_list(
        self,
        who: Principal,
        filters: CaseFilters,
        shown: int,
        now: datetime,
        address: str | None,
    ) -> None:
        with self.runtime.engine.connect() as conn, conn.begin():
            audit.record(
                conn,
                who,
                "case.list",
                now=now,
                address=address,
                detail={"filters": _non_default(filters), "cases": shown},
            )

    def open_case(
        self, who: Principal, body: Mapping[str, Any], *, address: str | None
    ) -> CaseView:
        if not who.may(Action.OPEN_CASE):
            raise ForbiddenError
        event = dict(body)
        event["type"] = "case_opened"
        event.setdefault("case_id", _new_reference(event.get("case_type")))
        event.setdefault("caseworker", who.username if who.role is Role.CASEWORKER else None)
        if event.get("caseworker") is None:
            event.pop("caseworker")
        team = event.get("team")
        if not isinstance(team, str) or not team.strip():
            raise InvalidEventError([Problem("team", "'team' must be non-empty text")])
        if not can_open_case_in(who, team):
            raise InvalidEventError(
                [Problem("team", f"you can open cases only in your teams: {_teams(who)}")]
            )
        case_id = str(event["case_id"])
        self._apply(who, event, "case.open", address)
        return self._current_view(who, case_id, None)

    def record_event(
        self, who: Principal, case_id: str, body: Mapping[str, Any], *, address: str | None
    ) -> CaseView:
        with self._reading() as conn:
            scope = self._visible(conn, who, case_id)
        if not can_edit_case(who, scope):
            raise ForbiddenError
        event = dict(body)
        if event.get("case_id", case_id) != case_id:
            raise InvalidEventError(
                [Problem("case_id", f"'case_id' must be '{case_id}', the case in the path")]
            )
        event["case_id"] = case_id
        if event.get("type") == "case_opened":
            raise InvalidEventError([Problem("type", "a case is opened with POST /api/v1/cases")])
        self._apply(who, event, "event.record", address)
        return self._current_view(who, case_id, None)

    def share_case(
        self, who: Principal, case_id: str, agency: str, *, address: str | None
    ) -> list[str]:
        now = self.clock()
        with self.runtime.engine.connect() as conn, conn.begin():
            scope = self._visible(conn, who, case_id)
            if not can_share_case(who, scope):
                raise ForbiddenError
            if agency not in scope.shared_with and agency != who.agency:
                # A share made at the same instant by someone else is the same share.
                conn.execute(
                    upsert_insert(conn, CaseShareRow)
                    .values(case_id=case_id, agency=agency, shared_at=now, shared_by=who.user_id)
                    .on_conflict_do_nothing()
                )
                audit.record(
                    conn,
                    who,
                    "case.share",
                    now=now,
                    address=address,
                    case_id=case_id,
                    detail={"agency": agency},
                )
            return sorted(scope.shared_with | {agency} - {who.agency})

    # -- alerts -----------------------------------------------------------------------

    def alerts(
        self,
        who: Principal,
        *,
        include_acknowledged: bool = False,
        limit: int = MAX_PAGE,
        offset: int = 0,
    ) -> list[AlertItem]:
        if not who.may(Action.VIEW_ALERTS):
            raise ForbiddenError
        with self._reading() as conn:
            return my_alerts(
                conn,
                who,
                self.tz,
                include_acknowledged=include_acknowledged,
                limit=limit,
                offset=offset,
            )

    def alert_count(self, who: Principal, *, include_acknowledged: bool = False) -> int:
        if not who.may(Action.VIEW_ALERTS):
            raise ForbiddenError
        with self._reading() as conn:
            return count_alerts(conn, who, include_acknowledged=include_acknowledged)

    def acknowledge(self, who: Principal, alert_id: int, *, address: str | None) -> AlertItem:
        if not who.may(Action.VIEW_ALERTS):
            raise ForbiddenError
        if not 0 < alert_id <= _MAX_ROW_ID:  # past bigint, PostgreSQL cannot even compare
            raise NotFoundError
        now = self.clock()
        with self.runtime.engine.connect() as conn, conn.begin():
            found = my_alerts(conn, who, self.tz, include_acknowledged=True, only=alert_id)
            if not found:
                raise NotFoundError
            alert = found[0]
            if alert.acknowledged_at is None:
                conn.execute(
                    upsert_insert(conn, AlertAcknowledgementRow)
                    .values(alert_id=alert_id, user_id=who.user_id, at=now)
                    .on_conflict_do_nothing()
                )
                audit.record(
                    conn,
                    who,
                    "alert.acknowledge",
                    now=now,
                    address=address,
                    case_id=alert.case_id,
                    detail={"alert": alert_id, "level": alert.level},
                )
            acknowledged = my_alerts(conn, who, self.tz, include_acknowledged=True, only=alert_id)
        return acknowledged[0]

    # -- internals --------------------------------------------------------------------

    def _visible(self, conn: Connection, who: Principal, case_id: str) -> CaseScope:
        scope = case_scope(conn, case_id)
        if scope is None or not can_view_case(who, scope):
            raise NotFoundError
        return scope

    def _read(
        self, conn: Connection, scope: CaseScope, as_of: datetime, *, who: Principal
    ) -> CaseView:
        personal = who.sees_personal_data
        return read_case(
            conn,
            self.runtime,
            scope.case_id,
            as_of,
            victim=victim_data(conn, scope.case_id) if personal else None,
            shared_with=sorted(scope.shared_with),
            other_cases=self._other_cases(conn, who, scope.case_id) if personal else None,
        )

    @staticmethod
    def _other_cases(conn: Connection, who: Principal, case_id: str) -> list[str]:
        """The victim's other cases (linked by their reference) that `who` may see."""
        others = linked_cases(conn, [case_id]).get(case_id, [])
        return [
            other
            for other in others
            if (scope := case_scope(conn, other)) is not None and can_view_case(who, scope)
        ]

    def _apply(
        self, who: Principal, event: dict[str, Any], action: str, address: str | None
    ) -> None:
        event.setdefault("event_id", f"web-{uuid.uuid4().hex}")
        event.setdefault("at", self.clock().astimezone(self.tz).isoformat())
        too_deep = nesting_problems(event)  # before json.dumps recurses into it
        if too_deep:
            raise InvalidEventError(too_deep)
        line = json.dumps(event, ensure_ascii=False).encode()

        def audited(conn: Connection, summary: ImportSummary) -> None:
            audit.record(
                conn,
                who,
                action,
                now=self.clock(),
                address=address,
                case_id=str(event["case_id"]),
                detail={
                    "event_id": event["event_id"],
                    "type": event.get("type"),
                    "duplicate": summary.duplicates > 0,
                },
            )

        importer = Importer(
            self.runtime.engine, self.runtime.config.validator(), self.runtime.projectors()
        )
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                summary = importer.run([line], source=f"api:{who.username}", then=audited)
            except (ConcurrentUpdateError, IntegrityError):
                # Another request changed (or opened) the case first; the next attempt
                # sees its events, or rejects this one in words if it now conflicts.
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise ConflictError from None
                continue
            if summary.rejected:
                raise InvalidEventError(
                    [problem for line_error in summary.errors for problem in line_error.problems]
                )
            return


# -- queries shared with the CLI -----------------------------------------------------------


def case_scope(conn: Connection, case_id: str) -> CaseScope | None:
    found = conn.execute(
        select(CaseRow.team, CaseRow.caseworker).where(CaseRow.case_id == case_id)
    ).first()
    if found is None:
        return None
    shares = conn.execute(select(CaseShareRow.agency).where(CaseShareRow.case_id == case_id))
    return CaseScope(
        case_id=case_id,
        team=found.team,
        caseworker=found.caseworker,
        shared_with=shares.scalars().all(),
    )


def read_case(
    conn: Connection,
    runtime: Runtime,
    case_id: str,
    as_of: datetime,
    *,
    victim: Mapping[str, Any] | None = None,
    shared_with: Sequence[str] | None = None,
    other_cases: Sequence[str] | None = None,
) -> CaseView:
    """The case as of a moment, replayed from its events under its pinned rules."""
    case_type = conn.execute(
        select(CaseRow.case_type).where(CaseRow.case_id == case_id)
    ).scalar_one()
    events = load_case_events(conn, case_id, as_of=as_of)
    derivation = runtime.config.rulesets().derive(
        conn,
        case_id,
        [stored.event for stored in events],
        pinned_versions(conn, [case_id]).get(case_id),
        load_linked_events(conn, [case_id], as_of=as_of).get(case_id, ()),
    )
    return case_view(
        derivation,
        events,
        as_of=as_of,
        tz=runtime.config.timezone,
        case_type=case_type,
        victim=victim,
        shared_with=shared_with,
        other_cases=other_cases,
    )


def victim_data(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """The victim's details as last recorded on the case, unless erased."""
    return _victims(conn, [case_id]).get(case_id)


def _victims(conn: Connection, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each case's victim details (its personal-data records merged), erased ones left out."""
    merged: dict[str, dict[str, Any]] = {}
    for case_id, text in conn.execute(
        select(PersonalDataRow.case_id, PersonalDataRow.data).where(
            PersonalDataRow.case_id.in_(case_ids),
            PersonalDataRow.erased_at.is_(None),
            PersonalDataRow.data.is_not(None),
        )
    ):
        value = json.loads(text or "null")
        if isinstance(value, dict) and value:
            merged.setdefault(case_id, {}).update(value)
    return merged


def _case_cycles(now: datetime) -> Any:
    """Per case: the soonest due time still ahead, whether a target is breached (or
    overdue), past its warning point, or running — the case list's RAG in SQL."""
    s = SlaCycleRow
    running = s.state == "running"
    overdue = or_(s.outcome == "breached", and_(running, s.due_at < now))
    return (
        select(
            s.case_id,
            func.min(case((and_(running, s.due_at >= now), s.due_at))).label("next_due"),
            func.max(case((overdue, 1), else_=0)).label("breached"),
            func.max(case((and_(running, s.warn_at <= now), 1), else_=0)).label("warned"),
            func.max(case((running, 1), else_=0)).label("running"),
        )
        .group_by(s.case_id)
        .subquery()
    )


def _case_query(who: Principal, filters: CaseFilters, now: datetime, cycles: Any) -> Any:
    """Every case this person may see that the filters keep, unordered and unpaged: the
    list pages it, the counts group it, so both always agree."""
    c = CaseRow
    query = (
        select(c.case_id, c.case_type, c.team, c.caseworker, c.status, c.risk_level, cycles)
        .outerjoin(cycles, cycles.c.case_id == c.case_id)
        .where(_visible_to(who))
    )
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
        query = query.where(
            cycles.c.breached == 1 if filters.breached else func.coalesce(cycles.c.breached, 0) == 0
        )
    if filters.at_risk:
        query = query.where(or_(cycles.c.breached == 1, cycles.c.warned == 1))
    if filters.due_within_days is not None:
        horizon = now + timedelta(days=filters.due_within_days)
        query = query.where(cycles.c.next_due <= horizon)
    return query


def count_cases(conn: Connection, who: Principal, filters: CaseFilters, now: datetime) -> int:
    """How many cases the filters keep, before paging: what a list of them says it shows."""
    matching = _case_query(who, filters, now, _case_cycles(now)).subquery()
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
    """The dashboard's figures, one GROUP BY over every matching case (no page limit)."""
    matching = _case_query(who, filters, now, _case_cycles(now)).subquery()
    red = matching.c.breached == 1
    amber = and_(func.coalesce(matching.c.breached, 0) == 0, matching.c.warned == 1)
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


def list_cases(
    conn: Connection, who: Principal, filters: CaseFilters, now: datetime, tz: Any
) -> list[CaseSummary]:
    """One page of the matching cases, soonest target due first."""
    cycles = _case_cycles(now)
    query = (
        _case_query(who, filters, now, cycles)
        .order_by(cycles.c.next_due.is_(None), cycles.c.next_due, CaseRow.case_id)
        .limit(min(max(filters.limit, 1), MAX_PAGE))
        .offset(max(filters.offset, 0))
    )
    rows = conn.execute(query).all()
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
            rag=_case_rag(row.breached, row.warned, row.running),
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


def _inbox_query(who: Principal, *, include_acknowledged: bool, only: int | None) -> Any:
    """The alerts addressed to one of this person's roles on cases they can see, the role
    test in SQL so that paging counts only their own alerts."""
    a, ack = AlertRow, AlertAcknowledgementRow
    query = (
        select(a, ack.at.label("ack_at"), UserRow.username.label("ack_by"))
        .join(CaseRow, CaseRow.case_id == a.case_id)
        .outerjoin(ack, ack.alert_id == a.id)
        .outerjoin(UserRow, UserRow.id == ack.user_id)
        .where(_visible_to(who), a.superseded.is_(False), _addressed_to(alert_recipients(who)))
    )
    if who.role is Role.CASEWORKER:
        query = query.where(CaseRow.caseworker == who.username)
    if not include_acknowledged:
        query = query.where(ack.at.is_(None))
    if only is not None:
        query = query.where(a.id == only)
    return query


def _addressed_to(roles: frozenset[str]) -> Any:
    """`recipients` is a JSON list of role names: a role is in it when its JSON string
    (quotes included) is, which LIKE finds the same way on SQLite and PostgreSQL."""
    if not roles:
        return AlertRow.id.is_(None)
    return or_(
        *(
            AlertRow.recipients.like(f"%{_like_literal(json.dumps(role))}%", escape="\\")
            for role in sorted(roles)
        )
    )


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_alerts(conn: Connection, who: Principal, *, include_acknowledged: bool) -> int:
    """How many alerts the inbox holds in all, beyond any page of it."""
    inbox = _inbox_query(who, include_acknowledged=include_acknowledged, only=None).subquery()
    return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def my_alerts(
    conn: Connection,
    who: Principal,
    tz: Any,
    *,
    include_acknowledged: bool,
    only: int | None = None,
    limit: int = MAX_PAGE,
    offset: int = 0,
) -> list[AlertItem]:
    """Alerts addressed to this person's role on cases they can see, newest first, one
    page of them."""
    a = AlertRow
    query = (
        _inbox_query(who, include_acknowledged=include_acknowledged, only=only)
        .order_by(a.at.desc(), a.id.desc())
        .limit(min(max(limit, 1), MAX_PAGE))
        .offset(max(offset, 0))
    )
    return [
        AlertItem(
            id=row.id,
            case_id=row.case_id,
            policy=row.policy,
            cycle=row.cycle,
            level=row.level,
            at=local_iso(row.at, tz) or "",
            recipients=json.loads(row.recipients),
            superseded=row.superseded,
            acknowledged_at=local_iso(_utc(row.ack_at), tz),
            acknowledged_by=row.ack_by,
        )
        for row in conn.execute(query)
    ]


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


def _case_rag(breached: int | None, warned: int | None, running: int | None) -> str | None:
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


def _new_reference(case_type: Any) -> str:
    known = {"asb": "ASB", "domestic_abuse": "DA"}
    prefix = known.get(case_type, "CASE") if isinstance(case_type, str) else "CASE"
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def _teams(who: Principal) -> str:
    return ", ".join(sorted(who.teams)) or "none"


def _non_default(filters: CaseFilters) -> dict[str, Any]:
    """The filters someone actually set, for the audit row."""
    defaults = asdict(CaseFilters())
    return {k: v for k, v in asdict(filters).items() if v != defaults[k]}
