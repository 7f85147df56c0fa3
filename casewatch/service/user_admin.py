"""An operator's changes to the people who sign in (`casewatch users`): each change and
its audit row in the caller's transaction, so neither is committed without the other.

Details name the person and the role or token, never a password or a token's value.
A refused change raises `accounts.AccountError` and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from casewatch.service import accounts, audit


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
) -> None:
    accounts.add_user(
        conn,
        username=username,
        display_name=display_name,
        role=role,
        agency=agency,
        teams=teams,
        password=password,
        now=now,
    )
    audit.record_operator(conn, "user.add", now=now, detail={"username": username, "role": role})


def set_password(conn: Connection, username: str, password: str, *, now: datetime) -> None:
    accounts.set_password(conn, username, password)
    audit.record_operator(conn, "user.password", now=now, detail={"username": username})


def issue_token(conn: Connection, username: str, name: str, *, now: datetime) -> str:
    """The new token, to be shown once."""
    token = accounts.issue_token(conn, username, name, now)
    audit.record_operator(conn, "token.issue", now=now, detail={"username": username, "name": name})
    return token


def reset_two_factor(conn: Connection, username: str, *, now: datetime) -> bool:
    """False, with nothing written, when there is no such person."""
    from casewatch.service import two_factor  # noqa: PLC0415 - pyotp only when asked for

    if not two_factor.reset(conn, username):
        return False
    audit.record_operator(conn, "user.two_factor_reset", now=now, detail={"username": username})
    return True
