"""The audit trail: every view of a case and every change, written in the transaction
that does it, so a change is never committed without its row (nor a row without it).

Details carry references and counts only (case, event ids, filters); never victim data.
This module has no update or delete: the database refuses them too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from attrs import frozen
from sqlalchemy import Connection, insert, select

from casewatch.cases.clock import local_iso
from casewatch.service.access import Operator, Principal
from casewatch.service.tables import AuditRow

MAX_LISTED = 1_000
_INSERT: Final = insert(AuditRow)  # built once: every view and change runs it


@frozen
class AuditEntry:
    id: int
    at: str
    username: str
    action: str
    case_id: str | None
    detail: dict[str, Any]
    address: str | None


def record(
    conn: Connection,
    who: Principal | Operator | None,
    action: str,
    *,
    now: datetime,
    address: str | None,
    case_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    username: str | None = None,
) -> None:
    """One row. An operator's has no user id and the address "cli"; with nobody (a
    refused sign-in) `username` is the name that was tried."""
    if isinstance(who, Operator):
        user_id, name, address = None, who.name, "cli"
    elif who is not None:
        user_id, name = who.user_id, who.username
    else:
        user_id, name = None, username or "-"
    conn.execute(
        _INSERT,
        {
            "at": now,
            "user_id": user_id,
            "username": name[:100],
            "action": action,
            "case_id": case_id,
            "detail": json.dumps(dict(detail or {}), sort_keys=True, default=str),
            "address": address,
        },
    )


def record_operator(
    conn: Connection,
    action: str,
    *,
    now: datetime,
    by: str = "cli",
    case_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """An operator's command-line action (no signed-in person; `by` names who ran it)."""
    record(conn, Operator(by), action, now=now, address="cli", case_id=case_id, detail=detail)


def entries(
    conn: Connection,
    tz: ZoneInfo,
    *,
    case_id: str | None = None,
    username: str | None = None,
    limit: int = MAX_LISTED,
) -> list[AuditEntry]:
    """Newest first, for one case or one user (or everything)."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if case_id is not None:
        query = query.where(AuditRow.case_id == case_id)
    if username is not None:
        query = query.where(AuditRow.username == username)
    return [
        AuditEntry(
            id=row.id,
            at=local_iso(row.at, tz) or "",
            username=row.username,
            action=row.action,
            case_id=row.case_id,
            detail=json.loads(row.detail),
            address=row.address,
        )
        for row in conn.execute(query)
    ]
