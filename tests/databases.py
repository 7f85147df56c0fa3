"""Throwaway databases for the suite: a fresh SQLite file or an emptied PostgreSQL database.

PostgreSQL is not optional: when it cannot be reached the suite tries to start the local
server and, failing that, stops loudly rather than skipping the storage tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import Engine, select, text

from casewatch.cases.db import create_db_engine
from casewatch.migrations.schema import target_metadata, upgrade

PG_SERVER = os.environ.get("CASEWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
START_COMMAND = (
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | tail -n 1) main start"
)


class PostgresUnavailableError(RuntimeError):
    pass


def _admin_connect() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


def ensure_postgres() -> None:
    """Reach PostgreSQL, starting the local cluster if it is down; raise if impossible."""
    try:
        _admin_connect().close()
        return
    except psycopg.OperationalError:
        pass
    subprocess.run(START_COMMAND, shell=True, check=False, capture_output=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _admin_connect().close()
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.5)
    raise PostgresUnavailableError(
        f"PostgreSQL at {PG_SERVER} is down and `{START_COMMAND}` did not bring it up: {last}. "
        "The storage tests must run on PostgreSQL too; they are not skipped."
    )


class PostgresTestDatabase:
    """One database per test session, migrated once and emptied before each test."""

    def __init__(self) -> None:
        ensure_postgres()
        self.name = f"casewatch_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with _admin_connect() as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{self.name}"
        engine = create_db_engine(self.url)
        upgrade(engine)
        engine.dispose()

    def reset(self) -> str:
        engine = create_db_engine(self.url)
        tables = ", ".join(f'"{t.name}"' for t in target_metadata().sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url

    def drop(self) -> None:
        with _admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SqliteTemplate:
    """A migrated SQLite file copied for each test: cheaper than migrating every time."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        engine = create_db_engine(f"sqlite:///{self.path}")
        upgrade(engine)
        engine.dispose()  # closing the last connection checkpoints the WAL into the file

    def copy_to(self, folder: Path) -> str:
        target = folder / "casewatch.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table of the schema: its row count and a SHA-256 of its rows in key order.

    Equal fingerprints mean equal contents (events, cases, cycles, personal data, imports,
    alerts, audit …), not merely equal counts: nothing was written, not even a batch row."""
    prints: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in target_metadata().sorted_tables:
            digest = hashlib.sha256()
            rows = 0
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode("utf-8", "backslashreplace"))
                rows += 1
            prints[table.name] = (rows, digest.hexdigest())
    return prints
