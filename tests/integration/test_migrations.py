"""The schema: `casewatch init` is idempotent and the migrations match the models."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, select

from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import SlaCycleRow
from casewatch.migrations.schema import (
    alembic_config,
    alembic_head_revision,
    head_revision,
    target_metadata,
    upgrade,
)
from tests.cli import casewatch
from tests.integration.test_large_lists import NOW, _case, _cycle


def test_init_is_idempotent(db_url: str) -> None:
    """Running init on a current database changes nothing and succeeds."""
    first = casewatch("init", db=db_url)
    second = casewatch("init", db=db_url)
    assert first.exit_code == second.exit_code == 0
    assert second.json()["schema"] == head_revision()


def test_migrations_match_the_models(engine: Engine) -> None:
    """Autogenerate finds no difference between the migrated schema and the models."""
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), target_metadata())
    assert differences == []


def test_init_creates_a_new_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """init on a path with no database creates it at the current schema."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert casewatch("init", db=url).exit_code == 0
    assert (tmp_path / "fresh.db").exists()


def test_unreachable_database_is_explained() -> None:
    """A database that cannot be reached exits 3 with a message, not a traceback."""
    result = casewatch("case", "list", db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.exit_code == 3
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_unsupported_database_is_a_usage_error() -> None:
    """A database URL casewatch does not support exits 2."""
    result = casewatch("case", "list", db="mysql://root@localhost/x")
    assert result.exit_code == 2
    assert "not supported" in result.stderr


def test_the_head_revision_constant_is_alembics_head() -> None:
    """Commands check the schema against a constant, not by loading alembic: it must name
    the newest migration in versions/."""
    assert head_revision() == alembic_head_revision()


def test_the_case_rag_columns_are_filled_from_the_stored_cycles(engine: Engine) -> None:
    """`casewatch init` on a database from before 0010 sets each case row's RAG columns
    from the cycles it has."""
    start = NOW - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(insert(CaseRow), [_case("M1"), _case("M2"), _case("M3")])
        conn.execute(
            insert(SlaCycleRow),
            [
                _cycle("M1", 1, due=start + timedelta(hours=4), warn=start),
                _cycle("M1", 2, due=start + timedelta(hours=9), warn=start + timedelta(hours=1)),
                _cycle("M2", 1, due=start, warn=start, state="stopped", outcome="breached"),
            ],
        )
    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
        conn.commit()
    upgrade(engine)
    with engine.connect() as conn:
        rows = {
            row.case_id: tuple(row[1:])
            for row in conn.execute(
                select(
                    CaseRow.case_id,
                    CaseRow.rag_breached,
                    CaseRow.rag_running,
                    CaseRow.rag_due_at,
                    CaseRow.rag_warn_at,
                    CaseRow.rag_last_due_at,
                )
            )
        }
    assert rows == {
        "M1": (False, True, start + timedelta(hours=4), start, start + timedelta(hours=9)),
        "M2": (True, False, None, None, None),
        "M3": (False, False, None, None, None),
    }
