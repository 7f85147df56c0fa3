"""Database plumbing shared by every store: URLs, engines, and a UTC timestamp type.

SQLite (the embedded default) runs in WAL mode and takes its write lock at BEGIN, so a
writer never fails half-way on a lock upgrade; PostgreSQL runs at READ COMMITTED.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import DateTime, Engine, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

DEFAULT_URL: Final = "sqlite:///casewatch.db"
_SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out
# (a restart, a failover or a firewall may have dropped it meanwhile); one in steady use
# is not, which saves a round trip on every checkout under load.
PING_AFTER_IDLE_SECONDS: Final = 1.0
_IDLE_SINCE: Final = "casewatch_idle_since"


class DatabaseUrlError(ValueError):
    """A --db/CASEWATCH_DATABASE_URL value casewatch cannot use."""


def normalise_url(url: str) -> str:
    """Accept the spellings people paste (postgres://, postgresql://) and pick psycopg 3,
    the only PostgreSQL driver casewatch installs."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(
            "the database URL is not valid (e.g. sqlite:///casewatch.db or "
            "postgresql+psycopg://user@host/dbname)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        if parsed.get_driver_name() not in {"psycopg", ""} and "+" in parsed.drivername:
            raise DatabaseUrlError(
                f"PostgreSQL driver '{parsed.get_driver_name()}' is not installed; "
                "use postgresql+psycopg://"
            )
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise DatabaseUrlError(
            f"'{backend}' databases are not supported; use sqlite:/// or postgresql+psycopg://"
        )
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine configured for casewatch's transaction discipline.

    `hide_parameters` keeps bound values (which may be victim data) out of every
    exception message and log line.
    """
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        isolation_level="READ COMMITTED",
        pool_use_lifo=True,  # the connection just used is reused, so stays un-pinged
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Pre-ping only the connections that sat unused for PING_AFTER_IDLE_SECONDS.

    A dead connection found so invalidates the whole pool, as pool_pre_ping does; one
    that died while in use fails its statement, and SQLAlchemy then invalidates the pool
    too, so every later request gets a new connection."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # none on a new connection
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError("an idle pooled connection failed its ping") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers take a deferred (shared) transaction; writers take the write lock up
        # front, so two writers queue on busy_timeout instead of deadlocking mid-way.
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def upsert_insert(bind: Engine | Connection, table: Any) -> Any:
    """The dialect's own INSERT, which has ON CONFLICT (both of ours do; core's has not)."""
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bulk_insert(conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all name the same columns: COPY on PostgreSQL (psycopg's
    pipelined executemany spent more client time per row than the server did), a plain
    executemany elsewhere. Only for tables whose omitted columns have server-side
    defaults (an id from its sequence): COPY skips SQLAlchemy's Python-side ones."""
    if not rows:
        return
    if is_sqlite(conn):
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    target = table.__table__ if hasattr(table, "__table__") else table
    processors = [
        target.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        for name in columns
    ]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {target.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None else process(value)
                    for process, value in zip(processors, (row[n] for n in columns), strict=True)
                ]
            )


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both backends.

    SQLite has no time zone type; storing naive UTC keeps its text ordering correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
