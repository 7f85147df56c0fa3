"""`casewatch users`: each change is audited as the command line's, with references only,
and a refused change leaves no audit row."""

from __future__ import annotations

import json

from sqlalchemy import select

from casewatch.cases.db import create_db_engine
from casewatch.service.tables import AuditRow
from tests.cli import casewatch

PASSWORD = {"CASEWATCH_PASSWORD": "a long enough password"}


def _audited(db_url: str) -> list[tuple[str, str, str | None, dict[str, str]]]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditRow.action, AuditRow.username, AuditRow.address, AuditRow.detail).order_by(
                AuditRow.id
            )
        ).all()
    engine.dispose()
    return [(r.action, r.username, r.address, json.loads(r.detail)) for r in rows]


def test_each_users_change_writes_one_audit_row(db_url: str) -> None:
    """add, password, token and reset-two-factor each audit once; refusals audit nothing."""
    added = casewatch("users", "add", "j.carter", "--role", "caseworker", "--agency", "idva",
                      "--team", "da-idva", env=PASSWORD, db=db_url)  # fmt: skip
    assert added.exit_code == 0, added.stderr
    refused = casewatch("users", "add", "j.carter", "--role", "caseworker", "--agency", "idva",
                        env=PASSWORD, db=db_url)  # fmt: skip
    assert refused.exit_code == 1
    changed = casewatch("users", "password", "j.carter", env=PASSWORD, db=db_url)
    assert changed.json() == {"username": "j.carter", "password": "changed"}
    issued = casewatch("users", "token", "j.carter", "--name", "police feed", db=db_url)
    token = issued.json()["token"]
    assert casewatch("users", "token", "nobody", "--name", "x", db=db_url).exit_code == 1
    reset = casewatch("users", "reset-two-factor", "j.carter", db=db_url)
    assert reset.json() == {"username": "j.carter", "two_factor": "off"}
    assert casewatch("users", "reset-two-factor", "nobody", db=db_url).exit_code == 1

    audited = _audited(db_url)
    assert audited == [
        ("user.add", "cli", "cli", {"username": "j.carter", "role": "caseworker"}),
        ("user.password", "cli", "cli", {"username": "j.carter"}),
        ("token.issue", "cli", "cli", {"username": "j.carter", "name": "police feed"}),
        ("user.two_factor_reset", "cli", "cli", {"username": "j.carter"}),
    ]
    assert token not in json.dumps(audited)
    assert PASSWORD["CASEWATCH_PASSWORD"] not in json.dumps(audited)
