"""Alembic environment: migrates the connection handed over by casewatch.migrations.schema,
or the URL in alembic.ini / CASEWATCH_DATABASE_URL when run with the alembic CLI."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import text

from casewatch.cases.db import DEFAULT_URL, create_db_engine
from casewatch.migrations.schema import MIGRATION_LOCK_ID, target_metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = os.environ.get("CASEWATCH_DATABASE_URL") or DEFAULT_URL
        engine = create_db_engine(url)
        with engine.connect() as owned:
            _migrate(owned)
            owned.commit()
        engine.dispose()
    else:
        _migrate(connection)


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several workers may start at once; only one migrates, the rest wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("casewatch migrations run online only")
run_migrations()
