"""Create or migrate the schema; report whether a database is current."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

import casewatch.engine.tables
import casewatch.notifications.tables  # noqa: F401 - and the outbox
from casewatch.cases.tables import Base

MIGRATION_LOCK_ID: Final = 0x43415345  # "CASE": serialises concurrent `casewatch init`
_HERE: Final = Path(__file__).parent


def target_metadata() -> MetaData:
    """Every table casewatch owns, gathered from the packages that define them."""
    return Base.metadata


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
