"""Create or migrate the schema; report whether a database is current.

Every command checks the schema, but only `init` migrates: alembic is imported when a
migration runs, not on each command's start (it costs a tenth of a second).

A migration that adds a projection of the stored data (measure facts, the case row's RAG
columns) only changes the schema. The projection is filled after the database reaches the
newest schema, by the code that keeps it up to date: a migration calling that code would
break the day the code writes a column a later migration adds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, Engine, MetaData, inspect, text

import casewatch.engine.tables
import casewatch.notifications.tables
import casewatch.service.tables  # noqa: F401 - and the service's users and audit log
from casewatch.cases.tables import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATION_LOCK_ID: Final = 0x43415345  # "CASE": serialises concurrent `casewatch init`
# The newest migration. A test checks it against alembic's own reading of versions/, so a
# new migration cannot land without it.
HEAD_REVISION: Final = "0011"
_HERE: Final = Path(__file__).parent


def target_metadata() -> MetaData:
    """Every table casewatch owns, gathered from the packages that define them."""
    return Base.metadata


def alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the module docstring

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema, and fill the projections that migrations
    on the way added, in one transaction; a no-op when it is already there."""
    from alembic import command  # noqa: PLC0415 - see the module docstring

    config = alembic_config()
    with engine.connect() as connection:
        before = _revision(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        for fill in projections_added_since(before):
            fill(connection)
        connection.commit()


def projections_added_since(revision: str | None) -> list[Callable[[Connection], object]]:
    """What fills each projection a migration after `revision` added, in migration order.
    A new database (no revision) has no data to fill them from."""
    from casewatch.engine.fact_store import rebuild_facts  # noqa: PLC0415 - init only
    from casewatch.engine.store import refresh_rag_columns  # noqa: PLC0415 - init only

    added_by: list[tuple[str, Callable[[Connection], object]]] = [
        ("0009", rebuild_facts),
        ("0010", refresh_rag_columns),
    ]
    if revision is None:
        return []
    # Revisions are zero-padded numbers, so their order is their text's.
    return [fill for added, fill in added_by if added > revision]


def head_revision() -> str:
    return HEAD_REVISION


def alembic_head_revision() -> str | None:
    """The head as alembic reads it from versions/ (what HEAD_REVISION must equal)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see the module docstring

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision, as alembic records it; None for an empty database."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
