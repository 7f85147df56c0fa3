"""Handlers for the alerts inbox: a page of it, how many, and acknowledging one."""

from __future__ import annotations

from typing import Final

from casewatch.app.commands import AcknowledgeAlert
from casewatch.app.deps import Deps
from casewatch.app.errors import ForbiddenError, NotFoundError
from casewatch.app.inbox import AlertItem
from casewatch.app.queries import CountInbox, Inbox
from casewatch.app.uow import UnitOfWork
from casewatch.service.access import Action

_MAX_ROW_ID: Final = 2**63 - 1


def inbox(query: Inbox, uow: UnitOfWork, deps: Deps) -> list[AlertItem]:
    if not query.who.may(Action.VIEW_ALERTS):
        raise ForbiddenError
    with uow.read_only():
        return uow.alerts.inbox(
            query.who,
            include_acknowledged=query.include_acknowledged,
            limit=query.limit,
            offset=query.offset,
        )


def count_inbox(query: CountInbox, uow: UnitOfWork, deps: Deps) -> int:
    if not query.who.may(Action.VIEW_ALERTS):
        raise ForbiddenError
    with uow.read_only():
        return uow.alerts.count(query.who, include_acknowledged=query.include_acknowledged)


def acknowledge(command: AcknowledgeAlert, uow: UnitOfWork, deps: Deps) -> AlertItem:
    """Acknowledged once: a second acknowledgement changes nothing and is not audited."""
    who, alert_id = command.who, command.alert_id
    if not who.may(Action.VIEW_ALERTS):
        raise ForbiddenError
    if not 0 < alert_id <= _MAX_ROW_ID:  # past bigint, PostgreSQL cannot even compare
        raise NotFoundError
    now = deps.clock()
    with uow:
        found = uow.alerts.inbox(who, include_acknowledged=True, only=alert_id)
        if not found:
            raise NotFoundError
        alert = found[0]
        if alert.acknowledged_at is None:
            uow.alerts.acknowledge(alert_id, by=who.user_id, at=now)
            uow.audit.append(
                who,
                "alert.acknowledge",
                now=now,
                address=command.address,
                case_id=alert.case_id,
                detail={"alert": alert_id, "level": alert.level},
            )
        acknowledged = uow.alerts.inbox(who, include_acknowledged=True, only=alert_id)
        uow.commit()
    return acknowledged[0]
