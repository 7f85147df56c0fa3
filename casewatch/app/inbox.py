"""The alerts inbox: alerts addressed to one of a person's roles on cases they can see,
newest first, a page at a time, and how many there are in all."""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, func, or_, select

from casewatch.app.case_list import MAX_PAGE, _utc, _visible_to
from casewatch.cases.clock import local_iso
from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import AlertRow
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
        # No acknowledgement row, said on the join key, so the planner sees an anti-join
        # (not a filter on a joined column) and estimates it well enough to read the
        # newest alerts off ix_alerts_at_id rather than sorting them all.
        query = query.where(ack.alert_id.is_(None))
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
