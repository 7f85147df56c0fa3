"""Delivery channels: the in-app inbox, e-mail over SMTP, and a signed webhook.

The only module that talks SMTP or HTTP out. Each message carries its idempotency key
(a Message-ID / an Idempotency-Key header, the webhook-id), so a resend after a crash
between sending and recording is recognisable as the same logical message. Webhooks are
signed as the Standard Webhooks specification says (the signature covers the id and the
time of sending as well as the body, so a captured delivery cannot be replayed later),
with the older body-only signature kept for one release so receivers can move over.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Final, Protocol

from attrs import frozen
from standardwebhooks.webhooks import Webhook

KEY_HEADER: Final = "Idempotency-Key"
ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's marker, not a secret
# Deprecated: the body-only signature, sent for one more release (see docs/service.md).
SIGNATURE_HEADER: Final = "X-Casewatch-Signature"


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
    """The deprecated X-Casewatch-Signature: HMAC-SHA256 of the body alone, keyed by the
    secret's text exactly as configured."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signing_key(secret: str) -> Webhook:
    """A `whsec_<base64>` secret is decoded to its key bytes, as Standard Webhooks says;
    a secret of the older free-text kind is used as its UTF-8 bytes."""
    return Webhook(secret) if secret.startswith(SECRET_PREFIX) else Webhook(secret.encode())


def standard_headers(message_id: str, body: bytes, secret: str, at: datetime) -> dict[str, str]:
    """webhook-id, webhook-timestamp (whole seconds) and webhook-signature
    `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    sent = datetime.fromtimestamp(int(at.timestamp()), UTC)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(sent.timestamp())),
        STANDARD_SIGNATURE_HEADER: signing_key(secret).sign(message_id, sent, body.decode()),
    }


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class WebhookChannel:
    """POSTs a JSON body signed over its id, the time of sending and the exact bytes sent."""

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.clock = clock  # the real time of each attempt, whatever `tick --now` says

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
        if not self.secret:
            raise DeliveryError("webhook: no signing secret (set CASEWATCH_WEBHOOK_SECRET)")
        headers = {
            "Content-Type": "application/json",
            **standard_headers(message.idempotency_key, body, self.secret, self.clock()),
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
