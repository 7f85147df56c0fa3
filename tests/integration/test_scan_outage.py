"""A database connection dropped in the middle of a scan loses nothing: the batch rolls
back whole, and the next pass completes the work. PostgreSQL (the server ends the
session, as it does on a restart or failover)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from casewatch.notifications.scan import scan
from casewatch.service.runtime import open_runtime
from tests.builders import assessed, jsonl, opened
from tests.cli import casewatch
from tests.databases import PostgresTestDatabase

NOW = datetime(2014, 5, 12, tzinfo=ZoneInfo("Europe/London"))


def test_scan_survives_a_dropped_connection(
    postgres_database: PostgresTestDatabase, tmp_path: Path
) -> None:
    """The first pass dies as it writes its alerts; the second records each exactly once."""
    url = postgres_database.reset()
    lines = []
    for number in range(30):
        lines += [
            opened(f"C{number}", "2014-05-01T09:00:00+01:00"),
            assessed(f"C{number}", "2014-05-06T10:30:00+01:00", "high"),
        ]
    (tmp_path / "e.jsonl").write_bytes(jsonl(lines))
    assert casewatch("import", str(tmp_path / "e.jsonl"), db=url).exit_code == 0
    runtime = open_runtime(url, None)
    config = runtime.config
    dropped = {"done": False}

    @event.listens_for(runtime.engine, "before_cursor_execute")
    def drop_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not dropped["done"] and statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            dropped["done"] = True
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(OperationalError):
        scan(runtime.engine, config.rulesets(), config.routing, NOW, config.timezone)
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 0
    result = scan(runtime.engine, config.rulesets(), config.routing, NOW, config.timezone)
    assert (result.warnings, result.breaches, result.backlog) == (30, 30, 0)  # conference only
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 60
        assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 30 + 2 * 30
    runtime.engine.dispose()
