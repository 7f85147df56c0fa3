"""The outbox relay: deliver pending messages, retry with backoff, dead-letter at last.

Delivery is at least once: a message is marked sent in the same transaction that took
it, after the channel accepted it; a crash in between leaves it pending, and the resend
carries the same idempotency key so the receiver sees one logical message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import define
from sqlalchemy import Engine, bindparam, select, true, tuple_, update

from casewatch.engine.tables import AlertRow
from casewatch.notifications.channels import Channel, DeliveryError, Outgoing
from casewatch.notifications.routing import Routing
from casewatch.notifications.tables import OutboxRow

RELAY_BATCH = 200


@define
class RelayResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def relay(
    engine: Engine, channels: Mapping[str, Channel], routing: Routing, now: datetime
) -> RelayResult:
    result = RelayResult()
    # A keyset cursor on the index's key: sent messages leave dead entries in the partial
    # index until vacuum, and restarting each batch at its head would walk them again.
    after: tuple[datetime, int] | None = None
    while True:
        with engine.connect() as conn, conn.begin():
            query = (
                select(
                    OutboxRow.id,
                    OutboxRow.channel,
                    OutboxRow.recipient,
                    OutboxRow.address,
                    OutboxRow.idempotency_key,
                    OutboxRow.subject,
                    OutboxRow.body,
                    OutboxRow.attempts,
                    OutboxRow.next_attempt_at,
                    AlertRow.case_id,
                    AlertRow.policy,
                    AlertRow.level,
                )
                .join(AlertRow, AlertRow.id == OutboxRow.alert_id)
                .where(
                    OutboxRow.state == "pending",
                    OutboxRow.next_attempt_at <= now,
                    tuple_(OutboxRow.next_attempt_at, OutboxRow.id) > after
                    if after is not None
                    else true(),
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(RELAY_BATCH)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=OutboxRow)
            batch = conn.execute(query).all()
            if not batch:
                return result
            after = (batch[-1].next_attempt_at, batch[-1].id)
            changes = [
                _attempt(row, channels=channels, routing=routing, now=now, result=result)
                for row in batch
            ]
            conn.execute(
                update(OutboxRow)
                .where(OutboxRow.id == bindparam("message_id"))
                .values(
                    state=bindparam("new_state"),
                    attempts=bindparam("new_attempts"),
                    sent_at=bindparam("new_sent_at"),
                    last_error=bindparam("new_last_error"),
                    next_attempt_at=bindparam("new_next_attempt_at"),
                ),
                changes,
            )


def _attempt(
    message: Any,
    *,
    channels: Mapping[str, Channel],
    routing: Routing,
    now: datetime,
    result: RelayResult,
) -> dict[str, Any]:
    body = json.loads(message.body)
    outgoing = Outgoing(
        idempotency_key=message.idempotency_key,
        recipient=message.recipient,
        address=message.address,
        subject=message.subject,
        text=body["text"],
        html=body["html"],
        case_id=message.case_id,
        policy=message.policy,
        level=message.level,
    )
    attempts = message.attempts + 1
    change = {
        "message_id": message.id,
        "new_state": "sent",
        "new_attempts": attempts,
        "new_sent_at": None,
        "new_last_error": None,
        "new_next_attempt_at": message.next_attempt_at,
    }
    try:
        _channel(channels, message.channel).send(outgoing)
    except DeliveryError as exc:
        change["new_last_error"] = str(exc)[:500]
        if attempts >= routing.max_attempts:
            result.dead += 1
            change["new_state"] = "dead"
        else:
            result.failed += 1
            change["new_state"] = "pending"
            change["new_next_attempt_at"] = now + routing.backoff * (2 ** (attempts - 1))
        return change
    result.sent += 1
    change["new_sent_at"] = now
    return change


def _channel(channels: Mapping[str, Channel], name: str) -> Channel:
    channel = channels.get(name)
    if channel is None:
        raise DeliveryError(f"the {name} channel is not configured")
    return channel
