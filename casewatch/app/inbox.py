"""The alerts inbox: alerts addressed to one of a person's roles on cases they can see,
newest first, a page at a time, and how many there are in all."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection, delete, false, func, insert, or_, select

from casewatch.app.case_list import MAX_PAGE, _utc, _visible_to
from casewatch.cases.clock import local_iso
from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import AlertRow, WaitingAlertCountRow
from casewatch.service.access import Principal, Role, alert_recipients
from casewatch.service.tables import AlertAcknowledgementRow, UserRow


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


# What an AlertItem shows of the alert: only these are read and converted.
_ITEM_COLUMNS: Final = (
    AlertRow.id,
    AlertRow.case_id,
    AlertRow.policy,
    AlertRow.cycle,
    AlertRow.level,
    AlertRow.at,
    AlertRow.recipients,
    AlertRow.superseded,
)


def _inbox_query(who: Principal, *, include_acknowledged: bool, only: int | None) -> Any:
    """The alerts addressed to one of this person's roles on cases they can see, the role
    test in SQL so that paging counts only their own alerts."""
    a, ack = AlertRow, AlertAcknowledgementRow
    query = (
        select(*_ITEM_COLUMNS, ack.at.label("ack_at"), UserRow.username.label("ack_by"))
        .join(CaseRow, CaseRow.case_id == a.case_id)
        .outerjoin(ack, ack.alert_id == a.id)
        .outerjoin(UserRow, UserRow.id == ack.user_id)
        .where(_visible_to(who), a.superseded.is_(False), _addressed_to(alert_recipients(who)))
    )
    if who.role is Role.CASEWORKER:
        query = query.where(CaseRow.caseworker == who.username)
    if not include_acknowledged:
        # No acknowledgement row, said on the join key, so the planner sees an anti-join
        # (not a filter on a joined column) and estimates it well enough to read the
        # newest alerts off ix_alerts_at_id rather than sorting them all.
        query = query.where(ack.alert_id.is_(None))
    if only is not None:
        query = query.where(a.id == only)
    return query


def _addressed_to(roles: frozenset[str], recipients: Any = AlertRow.recipients) -> Any:
    """`recipients` is a JSON list of role names: a role is in it when its JSON string
    (quotes included) is, which LIKE finds the same way on SQLite and PostgreSQL."""
    if not roles:
        return false()
    return or_(
        *(
            recipients.like(f"%{_like_literal(json.dumps(role))}%", escape="\\")
            for role in sorted(roles)
        )
    )


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_alerts(conn: Connection, who: Principal, *, include_acknowledged: bool) -> int:
    """How many alerts the inbox holds in all, beyond any page of it. A manager's waiting
    alerts are summed from the counts kept per team and recipients (the same alerts: a
    manager sees exactly their teams' cases); anyone else's are counted from the alerts."""
    if who.role is Role.MANAGER and not include_acknowledged:
        return count_waiting(conn, who.teams, alert_recipients(who))
    return plain_count(conn, who, include_acknowledged=include_acknowledged)


def plain_count(conn: Connection, who: Principal, *, include_acknowledged: bool) -> int:
    """The inbox's alerts counted one by one: what the kept counts must always equal."""
    inbox = _inbox_query(who, include_acknowledged=include_acknowledged, only=None).subquery()
    return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def count_waiting(conn: Connection, teams: Iterable[str], roles: frozenset[str]) -> int:
    """Alerts neither superseded nor acknowledged on these teams' cases and addressed to
    one of these roles, from the kept counts: a row per team and list of recipients."""
    w = WaitingAlertCountRow
    addressed = _addressed_to(roles, w.recipients)
    query = select(func.coalesce(func.sum(w.waiting), 0)).where(
        w.team.in_(sorted(teams)), addressed
    )
    return int(conn.execute(query).scalar_one())


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
    parsed: dict[str, list[str]] = {}  # a page holds few distinct lists of recipients
    return [
        AlertItem(
            id=row.id,
            case_id=row.case_id,
            policy=row.policy,
            cycle=row.cycle,
            level=row.level,
            at=local_iso(row.at, tz) or "",
            recipients=list(_recipients(row.recipients, parsed)),
            superseded=row.superseded,
            acknowledged_at=local_iso(_utc(row.ack_at), tz),
            acknowledged_by=row.ack_by,
        )
        for row in conn.execute(query)
    ]


def _waiting_by_team_and_recipients() -> Any:
    """The alerts neither superseded nor acknowledged, counted per team and recipients."""
    a = AlertRow
    acknowledged = select(AlertAcknowledgementRow.alert_id).where(
        AlertAcknowledgementRow.alert_id == a.id
    )
    return (
        select(CaseRow.team, a.recipients, func.count().label("waiting"))
        .join(CaseRow, CaseRow.case_id == a.case_id)
        .where(CaseRow.team.is_not(None), a.superseded.is_(False), ~acknowledged.exists())
        .group_by(CaseRow.team, a.recipients)
    )


def recount_waiting_alerts(conn: Connection) -> None:
    """Make the kept counts anew from the alerts (after a load that did not keep them)."""
    w = WaitingAlertCountRow
    conn.execute(delete(w))
    conn.execute(
        insert(w).from_select(["team", "recipients", "waiting"], _waiting_by_team_and_recipients())
    )


def waiting_count_differences(
    conn: Connection,
) -> dict[tuple[str | None, str], tuple[int, int]]:
    """Where the kept counts of waiting alerts differ from the alerts counted one by one:
    (team, recipients) -> (kept, counted). Empty when they agree, as they always should."""
    w = WaitingAlertCountRow
    counted: dict[tuple[str | None, str], int] = {
        (team, recipients): int(n)
        for team, recipients, n in conn.execute(_waiting_by_team_and_recipients())
    }
    kept: dict[tuple[str | None, str], int] = {
        (team, recipients): int(n)
        for team, recipients, n in conn.execute(select(w.team, w.recipients, w.waiting))
    }
    return {
        key: (kept.get(key, 0), counted.get(key, 0))
        for key in kept.keys() | counted.keys()
        if kept.get(key, 0) != counted.get(key, 0)
    }


def _recipients(text: str, parsed: dict[str, list[str]]) -> list[str]:
    if text not in parsed:
        parsed[text] = json.loads(text)
    return parsed[text]
