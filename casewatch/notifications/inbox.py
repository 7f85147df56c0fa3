"""The alerts inbox: recorded alerts with their delivery state (`casewatch alerts list`)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, func, select

from casewatch.cases.clock import local_iso
from casewatch.engine.tables import AlertRow
from casewatch.notifications.tables import OutboxRow

_LEVEL_ORDER = {"warning": 0, "breach": 1}


def list_alerts(conn: Connection, tz: ZoneInfo, case_id: str | None = None) -> list[dict[str, Any]]:
    """Every recorded alert, oldest level first per cycle. `delivered` is true once each
    of its messages has been sent; dead-lettered messages are counted apart."""
    messages = (
        select(
            OutboxRow.alert_id,
            func.count().label("messages"),
            func.sum(case((OutboxRow.state == "sent", 1), else_=0)).label("sent"),
            func.sum(case((OutboxRow.state == "dead", 1), else_=0)).label("dead"),
        )
        .group_by(OutboxRow.alert_id)
        .subquery()
    )
    query = (
        select(*AlertRow.__table__.columns, messages.c.messages, messages.c.sent, messages.c.dead)
        .outerjoin(messages, messages.c.alert_id == AlertRow.id)
        .order_by(AlertRow.case_id, AlertRow.policy, AlertRow.cycle_started_at, AlertRow.at)
    )
    if case_id is not None:
        query = query.where(AlertRow.case_id == case_id)
    alerts = []
    for row in conn.execute(query):
        alert = row
        total, sent, dead = row.messages or 0, row.sent or 0, row.dead or 0
        alerts.append(
            {
                "case_id": alert.case_id,
                "policy": alert.policy,
                "cycle": alert.cycle,
                "level": alert.level,
                "at": local_iso(alert.at, tz),
                "recipients": json.loads(alert.recipients),
                "delivered": total > 0 and sent == total,
                "superseded": alert.superseded,
                "recorded_at": local_iso(alert.recorded_at, tz),
                "historic": alert.historic,
                "messages": {"total": total, "sent": sent, "dead": dead},
            }
        )
    alerts.sort(key=lambda a: (a["case_id"], a["policy"], a["cycle"], _rank(a["level"])))
    return alerts


def _rank(level: str) -> tuple[int, int]:
    if level in _LEVEL_ORDER:
        return (_LEVEL_ORDER[level], 0)
    return (2, int(level.rsplit("-", 1)[1]) if level.startswith("escalation-") else 0)
