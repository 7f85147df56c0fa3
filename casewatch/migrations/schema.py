"""Create or migrate the schema; report whether a database is current.

Every command checks the schema, but only `init` migrates: alembic is imported when a
migration runs, not on each command's start (it costs a tenth of a second).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine, MetaData, inspect, text

import casewatch.engine.tables
import casewatch.notifications.tables
import casewatch.service.tables  # noqa: F401 - and the service's users and audit log
from casewatch.cases.tables import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATION_LOCK_ID: Final = 0x43415345  # "CASE": serialises concurrent `casewatch init`
# The newest migration. A test checks it against alembic's own reading of versions/, so a
# new migration cannot land without it.
HEAD_REVISION: Final = "0010"
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
    """Bring the database to the newest schema; a no-op when it is already there."""
    from alembic import command  # noqa: PLC0415 - see the module docstring

    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def head_revision() -> str:
    return HEAD_REVISION


def alembic_head_revision() -> str | None:
    """The head as alembic reads it from versions/ (what HEAD_REVISION must equal)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see the module docstring

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision, as alembic records it; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
