"""People and how they prove who they are: passwords, browser sessions, API tokens.

Secrets are random, shown once, and stored only as hashes: argon2 for passwords (slow on
purpose), SHA-256 for session ids and tokens (already 256 random bits, so a fast hash is
enough and keeps every request cheap). Failed sign-ins are counted in the database, so
throttling holds across several server processes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from casewatch.service.access import ROLES, Principal, Role
from casewatch.service.tables import ApiTokenRow, LoginAttemptRow, UserRow, WebSessionRow

SESSION_LIFETIME: Final = timedelta(hours=8)  # a working day; then sign in again
THROTTLE_WINDOW: Final = timedelta(minutes=15)
MAX_FAILURES_PER_USER: Final = 5
MAX_FAILURES_PER_ADDRESS: Final = 20
MIN_PASSWORD_LENGTH: Final = 12
TOKEN_PREFIX: Final = "cw_"  # noqa: S105 - marks a leaked token as ours; not a secret

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the username is unknown takes as long as a real check,
    so response times do not tell which usernames exist. Made on first use, not at import:
    an argon2 hash is a noticeable part of the start-up of every command."""
    return _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    """A user that cannot be created as asked; the message says why."""


class ThrottledError(RuntimeError):
    """Too many failed sign-ins: wait before trying again."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def add_user(
    conn: Connection,
    *,
    username: str,
    display_name: str,
    role: str,
    agency: str,
    teams: Sequence[str],
    password: str,
    now: datetime,
) -> int:
    problems = []
    if not username or len(username) > 100 or not username.isprintable() or " " in username:
        problems.append("the username must be 1-100 characters without spaces")
    if role not in ROLES:
        problems.append(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not agency.strip():
        problems.append("the agency is missing")
    if role in {Role.CASEWORKER, Role.MANAGER} and not teams:
        problems.append(f"a {role} needs at least one team")
    if conn.execute(select(UserRow.id).where(UserRow.username == username)).first():
        problems.append(f"the username '{username}' is taken")
    if problems:
        raise AccountError("; ".join(problems))
    user_id: int = conn.execute(
        insert(UserRow)
        .values(
            username=username,
            display_name=display_name or username,
            role=role,
            agency=agency,
            teams=json.dumps(sorted(set(teams))),
            password_hash=_hasher.hash(password),
            active=True,
            created_at=now,
        )
        .returning(UserRow.id)
    ).scalar_one()
    return user_id


_USER_COLUMNS: Final = tuple(UserRow.__table__.columns)


def set_password(conn: Connection, username: str, password: str) -> None:
    """A new password; every open session of that person ends."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    row = _user(conn, username=username)
    if row is None:
        raise AccountError(f"no user '{username}'")
    conn.execute(
        update(UserRow).where(UserRow.id == row.id).values(password_hash=_hasher.hash(password))
    )
    conn.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))


def principal_of(row: Any) -> Principal:
    """From a `users` row (a Row or a mapped UserRow)."""
    return Principal(
        user_id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        agency=row.agency,
        teams=json.loads(row.teams),
    )


def list_users(conn: Connection) -> list[Principal]:
    rows = conn.execute(select(*_USER_COLUMNS).order_by(UserRow.username))
    return [principal_of(row) for row in rows]


def _user(conn: Connection, **where: object) -> Any:
    return conn.execute(select(*_USER_COLUMNS).filter_by(**where)).first()


def authenticate(
    conn: Connection, username: str, password: str, address: str, now: datetime
) -> Principal | None:
    """The user if the password is right; None otherwise. Raises ThrottledError once too
    many attempts failed recently, before looking at the password at all."""
    if throttled(conn, username, address, now):
        raise ThrottledError
    row = _user(conn, username=username, active=True)
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None:
        conn.execute(
            insert(LoginAttemptRow).values(username=username[:100], address=address, at=now)
        )
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(
            update(UserRow).where(UserRow.id == row.id).values(password_hash=_hasher.hash(password))
        )
    return principal_of(row)


def throttled(conn: Connection, username: str, address: str, now: datetime) -> bool:
    """Too many failed sign-ins (passwords or codes) lately, by this person or from this
    address."""
    since = now - THROTTLE_WINDOW
    failures = select(func.count()).select_from(LoginAttemptRow).where(LoginAttemptRow.at >= since)
    by_user = conn.execute(failures.where(LoginAttemptRow.username == username)).scalar_one()
    by_address = conn.execute(failures.where(LoginAttemptRow.address == address)).scalar_one()
    return by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS


def clear_failures(conn: Connection, username: str) -> None:
    """Once the sign-in is complete (password and, where needed, code): not before, or a
    right password would reset the count that limits guessing the code."""
    conn.execute(delete(LoginAttemptRow).where(LoginAttemptRow.username == username))


def start_session(
    conn: Connection, user_id: int, now: datetime, stage: str = "full"
) -> tuple[str, str]:
    """A new session: (the token for the cookie, the CSRF token for its forms). A session
    at stage "enrol" opens only the two-factor enrolment page."""
    token, csrf = new_secret(), new_secret()
    conn.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
    conn.execute(
        insert(WebSessionRow).values(
            token_hash=digest(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            stage=stage,
        )
    )
    return token, csrf


def session_principal(conn: Connection, token: str, now: datetime) -> tuple[Principal, str] | None:
    """The signed-in user and the session's CSRF token, if the session is live."""
    found = conn.execute(
        select(*_USER_COLUMNS, WebSessionRow.csrf_token)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(
            WebSessionRow.token_hash == digest(token),
            WebSessionRow.expires_at > now,
            WebSessionRow.stage == "full",
            UserRow.active,
        )
    ).first()
    if found is None:
        return None
    return principal_of(found), found.csrf_token


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == digest(token)))


def issue_token(conn: Connection, username: str, name: str, now: datetime) -> str:
    """A new API token for an integration acting as `username`; shown once."""
    row = _user(conn, username=username, active=True)
    if row is None:
        raise AccountError(f"no active user '{username}'")
    token = TOKEN_PREFIX + new_secret()
    conn.execute(
        insert(ApiTokenRow).values(
            token_hash=digest(token), user_id=row.id, name=name, created_at=now
        )
    )
    return token


_TOKEN_USER: Final = (
    select(*_USER_COLUMNS)
    .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
    .where(
        ApiTokenRow.token_hash == bindparam("token_hash"),
        ApiTokenRow.revoked_at.is_(None),
        UserRow.active,
    )
)  # built once: every request with a bearer token runs it


def token_principal(conn: Connection, token: str) -> Principal | None:
    found = conn.execute(_TOKEN_USER, {"token_hash": digest(token)}).first()
    return principal_of(found) if found else None
