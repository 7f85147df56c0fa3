"""Tables of the HTTP service: people, their sign-ins and tokens, sharing and the audit log.

Passwords, session ids and API tokens are stored only as hashes: a copy of the database
lets nobody sign in. The audit log is append-only; the migration adds triggers that
refuse UPDATE and DELETE on it, so not even a bug here can rewrite history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casewatch.cases.tables import Base, BigId


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # caseworker, manager, psg, admin
    agency: Mapped[str] = mapped_column(String(100))
    teams: Mapped[str] = mapped_column(Text)  # JSON list of team names
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Two-factor sign-in (RFC 6238). The secret is set when enrolment starts and in use
    # from `totp_enabled_at`; `totp_last_step` is the time step of the last code accepted,
    # so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigId)


class WebSessionRow(Base):
    """A signed-in browser. The cookie holds the token; this row holds its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # "full", or "enrol": the password was right but two-factor must be set up first, and
    # the session opens only the enrolment page.
    stage: Mapped[str] = mapped_column(String(20), server_default="full")


class RecoveryCodeRow(Base):
    """One-time codes for signing in without the authenticator app; only their SHA-256."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginAttemptRow(Base):
    """Failed sign-ins, counted per username and per address to slow guessing down."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class CaseShareRow(Base):
    """A case shared with another agency, whose caseworkers may then see and edit it."""

    __tablename__ = "case_shares"

    case_id: Mapped[str] = mapped_column(String(200), ForeignKey("cases.case_id"), primary_key=True)
    agency: Mapped[str] = mapped_column(String(100), primary_key=True)
    shared_at: Mapped[datetime]
    shared_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class AlertAcknowledgementRow(Base):
    __tablename__ = "alert_acknowledgements"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class AuditRow(Base):
    """Who did what to which case, when and from where. Insert only."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_case_id_at", "case_id", "at"),
        Index("ix_audit_log_user_id_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # JSON; references only, never victim data
    address: Mapped[str | None] = mapped_column(String(100))


class SchedulerPassRow(Base):
    """The last pass of each scheduler job, whichever process ran it: /metrics reads it, so
    a scan that stopped shows whether the scheduler runs in `serve` or in `worker`s."""

    __tablename__ = "scheduler_passes"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)  # sla_scan, outbox_relay
    passes: Mapped[int] = mapped_column(BigId)
    last_at: Mapped[datetime]
    last_checked: Mapped[int]  # cycles checked, or messages handled, by the last pass
    last_backlog: Mapped[int]  # cycles still due when the last scan pass ended


class OidcRequestRow(Base):
    """A sign-in sent to the identity provider and not yet back: what the answer must
    match (state, by hash) and what only this server knows (nonce, PKCE verifier). Used
    once: the callback deletes it."""

    __tablename__ = "oidc_requests"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime]
