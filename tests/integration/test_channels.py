"""Delivery through real channels: an SMTP server and a webhook receiver on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from casewatch.notifications.channels import KEY_HEADER, SIGNATURE_HEADER, sign
from tests.builders import assessed, jsonl, opened
from tests.cli import casewatch

SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1yZWNlaXZlcg=="
SHIPPED = Path(__file__).resolve().parents[2] / "casewatch" / "config" / "notifications.yaml"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


class Receiver:
    """A webhook endpoint: verifies both signatures (Standard Webhooks with its library, and
    the compatibility header), and can fail after accepting a body."""

    def __init__(self) -> None:
        self.raw: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_first = 0

    @property
    def logical(self) -> set[str]:
        return {r["key"] for r in self.raw}


@pytest.fixture
def webhook() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                Webhook(SECRET).verify(body, dict(self.headers.items()))
                standard = True
            except WebhookVerificationError:
                standard = False
            if not standard or self.headers.get(SIGNATURE_HEADER) != sign(body, SECRET):
                receiver.bad_signatures += 1
                self.send_response(401)
            else:
                receiver.raw.append(
                    {
                        "key": self.headers[KEY_HEADER],
                        "id": self.headers["webhook-id"],
                        "body": json.loads(body),
                    }
                )
                # Accept, then answer as if it failed: the sender must resend the same key.
                self.send_response(503 if receiver.fail_first > 0 else 204)
                receiver.fail_first -= 1
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def config_with(tmp_path: Path, **replacements: str) -> str:
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    text = SHIPPED.read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    (folder / "notifications.yaml").write_text(text)
    return str(folder)


def overdue_case(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        jsonl(
            [
                opened(
                    "C1",
                    "2014-05-01T09:00:00+01:00",
                    team="asb-north",
                    caseworker="r.hughes",
                    victim={"name": "Ada Example", "address": "1 Any Street"},
                ),
                assessed("C1", "2014-05-06T10:30:00+01:00", "high"),
            ]
        )
    )
    assert casewatch("import", str(path), db=db_url).exit_code == 0


def test_email_reaches_the_right_people_without_victim_data(
    db_url: str, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    """Warning to the caseworker, breach to caseworker and team manager, over real SMTP;
    subjects and bodies carry the case reference and never the victim's details."""
    mailbox, port = smtp
    config = config_with(tmp_path, **{"email: false": "email: true"})
    env = {"CASEWATCH_SMTP_HOST": "127.0.0.1", "CASEWATCH_SMTP_PORT": str(port)}
    overdue_case(db_url, tmp_path)
    casewatch("tick", "--now", "2014-05-10T10:30", "--config", config, db=db_url, env=env)
    summary = casewatch(
        "tick", "--now", "2014-05-11T10:31", "--config", config, db=db_url, env=env
    ).json()
    assert summary["notifications_sent"] == 4  # breach: 2 roles x (inbox + e-mail)
    recipients = sorted(to for tos, _ in mailbox.messages for to in tos)
    assert recipients == [
        "r.hughes@example.org",
        "r.hughes@example.org",
        "team.manager@example.org",
    ]
    for _, message in mailbox.messages:
        text = message.as_string()
        assert "C1" in message["Subject"]
        assert "Ada" not in text and "Any Street" not in text
        assert message[KEY_HEADER].startswith("casewatch-alert-")


def test_webhook_is_signed_and_resends_keep_their_key(
    db_url: str, tmp_path: Path, webhook: tuple[Receiver, str]
) -> None:
    """Webhook deliveries carry a valid Standard Webhooks signature (and the compatibility
    header); a message the receiver accepted but answered as failed is resent with the
    same key and webhook-id: one logical message."""
    receiver, url = webhook
    receiver.fail_first = 1
    config = config_with(
        tmp_path,
        **{"webhook: false": "webhook: true", "backoff_seconds: 30": "backoff_seconds: 60"},
    )
    env = {"CASEWATCH_WEBHOOK_URL": url, "CASEWATCH_WEBHOOK_SECRET": SECRET}
    overdue_case(db_url, tmp_path)
    first = casewatch(
        "tick", "--now", "2014-05-10T10:30", "--config", config, db=db_url, env=env
    ).json()
    assert first["notifications_queued"] == 2 and first["notifications_sent"] == 1  # inbox only
    later = casewatch(
        "tick", "--now", "2014-05-10T10:32", "--config", config, db=db_url, env=env
    ).json()
    assert later["notifications_sent"] == 1  # the retry, after the 60 s backoff
    assert receiver.bad_signatures == 0
    assert len(receiver.raw) == 2
    assert len(receiver.logical) == 1
    assert {r["id"] for r in receiver.raw} == receiver.logical
    [alert] = casewatch("alerts", "list", db=db_url).json()
    assert alert["delivered"] is True


def test_undeliverable_messages_are_dead_lettered(db_url: str, tmp_path: Path) -> None:
    """After the configured attempts a message is dead and the alert shows undelivered."""
    config = config_with(
        tmp_path,
        **{
            "webhook: false": "webhook: true",
            "max_attempts: 8": "max_attempts: 2",
            "backoff_seconds: 30": "backoff_seconds: 1",
        },
    )
    env = {
        "CASEWATCH_WEBHOOK_URL": "http://127.0.0.1:9/nothing-listens",
        "CASEWATCH_WEBHOOK_SECRET": SECRET,
    }
    overdue_case(db_url, tmp_path)
    for now in ("2014-05-10T10:30:00", "2014-05-10T10:30:05", "2014-05-10T10:30:10"):
        casewatch("tick", "--now", now, "--config", config, db=db_url, env=env)
    [alert] = casewatch("alerts", "list", db=db_url).json()
    assert alert["delivered"] is False
    assert alert["messages"] == {"total": 2, "sent": 1, "dead": 1}
