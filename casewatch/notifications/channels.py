"""Delivery channels: the in-app inbox, e-mail over SMTP, and a signed webhook.

The only module that talks SMTP or HTTP out. Each message carries its idempotency key
(a Message-ID / an Idempotency-Key header), so a resend after a crash between sending
and recording is recognisable as the same logical message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

from attrs import frozen

SIGNATURE_HEADER = "X-Casewatch-Signature"
KEY_HEADER = "Idempotency-Key"


class DeliveryError(RuntimeError):
    """This attempt failed; the relay will retry with backoff."""


@frozen
class Outgoing:
    idempotency_key: str
    recipient: str  # role
    address: str | None
    subject: str
    text: str
    html: str
    case_id: str
    policy: str
    level: str


class Channel(Protocol):
    def send(self, message: Outgoing) -> None: ...


class InboxChannel:
    """The alerts table is the inbox: recording the alert was the delivery."""

    def send(self, message: Outgoing) -> None:
        return None


@frozen
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "casewatch@localhost"
    timeout: float = 10.0


class SmtpChannel:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> None:
        if not message.address:
            raise DeliveryError("no e-mail address for this recipient")
        email = EmailMessage()
        email["From"] = self.settings.sender
        email["To"] = message.address
        email["Subject"] = message.subject
        domain = self.settings.sender.rsplit("@", 1)[-1]
        email["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
        email[KEY_HEADER] = message.idempotency_key
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.user:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {s.host}:{s.port}: {type(exc).__name__}") from exc


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POSTs a JSON body signed with HMAC-SHA256 of the exact bytes sent."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, message: Outgoing) -> None:
        body = json.dumps(
            {
                "idempotency_key": message.idempotency_key,
                "case_id": message.case_id,
                "policy": message.policy,
                "level": message.level,
                "recipient": message.recipient,
                "subject": message.subject,
                "text": message.text,
            },
            sort_keys=True,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.secret),
            KEY_HEADER: message.idempotency_key,
        }
        import httpx  # noqa: PLC0415 - only webhook deliveries pay for importing it

        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")


def channels_from_env(
    env: Mapping[str, str], enabled: tuple[str, ...], timeout: float
) -> dict[str, Channel]:
    """Build the enabled channels from CASEWATCH_SMTP_* / CASEWATCH_WEBHOOK_* settings."""
    channels: dict[str, Channel] = {}
    if "inbox" in enabled:
        channels["inbox"] = InboxChannel()
    if "email" in enabled and env.get("CASEWATCH_SMTP_HOST"):
        channels["email"] = SmtpChannel(
            SmtpSettings(
                host=env["CASEWATCH_SMTP_HOST"],
                port=int(env.get("CASEWATCH_SMTP_PORT", "25")),
                user=env.get("CASEWATCH_SMTP_USER") or None,
                password=env.get("CASEWATCH_SMTP_PASSWORD") or None,
                starttls=env.get("CASEWATCH_SMTP_STARTTLS", "").lower() in {"1", "true", "yes"},
                sender=env.get("CASEWATCH_SMTP_FROM", "casewatch@localhost"),
                timeout=timeout,
            )
        )
    if "webhook" in enabled and env.get("CASEWATCH_WEBHOOK_URL"):
        channels["webhook"] = WebhookChannel(
            env["CASEWATCH_WEBHOOK_URL"], env.get("CASEWATCH_WEBHOOK_SECRET", ""), timeout
        )
    return channels
