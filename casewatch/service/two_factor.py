"""Two-factor sign-in for local accounts: TOTP codes (RFC 6238) and one-time recovery codes.

A code is checked against the time steps either side of now (phones' clocks drift), and
only if its step is later than the last one accepted for that person: a code seen once,
by anyone, is never accepted again. Recovery codes are random, shown once, stored only as
SHA-256 hashes (they carry 60 random bits, and the sign-in throttle limits guesses), and
each works once. A wrong code counts as a failed sign-in, so the throttle that protects
passwords protects codes too.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Final

import pyotp
import segno
from sqlalchemy import Connection, delete, insert, select, update

from casewatch.service import accounts
from casewatch.service.access import Principal
from casewatch.service.tables import LoginAttemptRow, RecoveryCodeRow, UserRow, WebSessionRow

ISSUER: Final = "casewatch"
FULL: Final = "full"
ENROL: Final = "enrol"  # the password was right; two-factor must be set up before anything
RECOVERY_CODES: Final = 10
_USER_COLUMNS: Final = tuple(UserRow.__table__.columns)
_RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH: Final = 12  # 31^12: about 59 bits
DRIFT_STEPS: Final = 1  # a code from the step before or after now is accepted too


def enrolled(conn: Connection, user_id: int) -> bool:
    return (
        conn.execute(select(UserRow.totp_enabled_at).where(UserRow.id == user_id)).scalar_one()
        is not None
    )


def pending_secret(conn: Connection, user_id: int) -> str:
    """The secret being set up: made once, kept until confirmed, so a reload of the page
    shows the same QR code the person may already have scanned."""
    row = conn.execute(
        select(UserRow.totp_secret, UserRow.totp_enabled_at).where(UserRow.id == user_id)
    ).one()
    if row.totp_secret and row.totp_enabled_at is None:
        return str(row.totp_secret)
    secret = pyotp.random_base32()
    conn.execute(
        update(UserRow)
        .where(UserRow.id == user_id, UserRow.totp_enabled_at.is_(None))
        .values(totp_secret=secret)
    )
    return secret


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code, drawn here: the secret never leaves the server."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    return svg


def step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is, within the drift allowed; None if none."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(max(0, current - DRIFT_STEPS), current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_enrolment(conn: Connection, user_id: int, code: str, now: datetime) -> list[str] | None:
    """Switch two-factor on if `code` comes from the pending secret; the recovery codes,
    to be shown once, or None if the code is not right."""
    row = conn.execute(
        select(UserRow.totp_secret, UserRow.totp_enabled_at).where(UserRow.id == user_id)
    ).one()
    if row.totp_secret is None or row.totp_enabled_at is not None:
        return None
    step = step_of(row.totp_secret, _digits(code), now)
    if step is None:
        return None
    conn.execute(
        update(UserRow)
        .where(UserRow.id == user_id)
        .values(totp_enabled_at=now, totp_last_step=step)
    )
    return new_recovery_codes(conn, user_id, now)


def new_recovery_codes(conn: Connection, user_id: int, now: datetime) -> list[str]:
    """A fresh set, replacing any earlier one."""
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    conn.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
    conn.execute(
        insert(RecoveryCodeRow),
        [
            {"user_id": user_id, "code_hash": accounts.digest(code), "created_at": now}
            for code in codes
        ],
    )
    return [f"{code[:4]}-{code[4:8]}-{code[8:]}" for code in codes]


def verify(conn: Connection, user_id: int, code: str, now: datetime) -> str | None:
    """How the code was accepted ("code" or "recovery code"), or None. Accepting one uses
    it up: the time step is remembered, the recovery code marked used."""
    row = conn.execute(
        select(UserRow.totp_secret, UserRow.totp_last_step, UserRow.totp_enabled_at).where(
            UserRow.id == user_id
        )
    ).one()
    if row.totp_enabled_at is None or row.totp_secret is None:
        return None
    digits = _digits(code)
    if len(digits) == 6:
        step = step_of(row.totp_secret, digits, now)
        if step is None or step <= (row.totp_last_step or -1):
            return None
        claimed = conn.execute(  # a concurrent sign-in with the same code loses here
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.totp_last_step == row.totp_last_step)
            .values(totp_last_step=step)
        ).rowcount
        return "code" if claimed == 1 else None
    recovery = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(recovery) != _RECOVERY_LENGTH or not recovery.isascii():
        return None
    used = conn.execute(
        update(RecoveryCodeRow)
        .where(
            RecoveryCodeRow.user_id == user_id,
            RecoveryCodeRow.code_hash == accounts.digest(recovery),
            RecoveryCodeRow.used_at.is_(None),
        )
        .values(used_at=now)
    ).rowcount
    return "recovery code" if used == 1 else None


def _digits(code: str) -> str:
    """The code without spaces, or "" unless that is ASCII digits (a code typed with other
    characters is simply wrong, never an error)."""
    digits = "".join(ch for ch in code if not ch.isspace())
    return digits if digits.isascii() and digits.isdigit() else ""


def record_failure(conn: Connection, username: str, address: str, now: datetime) -> None:
    """A wrong code counts against the same limits as a wrong password."""
    conn.execute(insert(LoginAttemptRow).values(username=username[:100], address=address, at=now))


def enrolment_session(conn: Connection, token: str, now: datetime) -> tuple[Principal, str] | None:
    """The person and CSRF token of a live session at either stage: the enrolment page is
    the one place a session still setting up two-factor may reach."""
    found = conn.execute(
        select(*_USER_COLUMNS, WebSessionRow.csrf_token)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(
            WebSessionRow.token_hash == accounts.digest(token),
            WebSessionRow.expires_at > now,
            UserRow.active,
        )
    ).first()
    return (accounts.principal_of(found), found.csrf_token) if found else None


def recovery_codes_left(conn: Connection, user_id: int) -> int:
    rows: Any = conn.execute(
        select(RecoveryCodeRow.id).where(
            RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None)
        )
    ).all()
    return len(rows)


def reset(conn: Connection, username: str) -> bool:
    """Switch two-factor off for someone who lost their phone and codes, and end their
    sessions; a role that requires it sets it up again at the next sign-in."""
    user_id = conn.execute(select(UserRow.id).where(UserRow.username == username)).scalar()
    if user_id is None:
        return False
    conn.execute(
        update(UserRow)
        .where(UserRow.id == user_id)
        .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
    )
    conn.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
    conn.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
    return True
