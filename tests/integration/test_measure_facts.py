"""The measure facts projection: kept by every import equal to a computation from the
events alone, checked by `casewatch check`, filled by its migration, and a large import
leaves the planner statistics of the tables it loaded fresh."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update

from casewatch.cases import importing
from casewatch.cases.db import create_db_engine
from casewatch.cases.tables import EventRow
from casewatch.engine.consistency import check_cases
from casewatch.engine.fact_store import fresh_facts, rebuild_facts, stored_facts
from casewatch.engine.tables import MeasureFactRow
from casewatch.migrations.schema import alembic_config, upgrade
from casewatch.service.config import Config
from tests.builders import ev, jsonl
from tests.cli import casewatch
from tests.databases import PostgresTestDatabase
from tests.integration.test_whatif_property import _streams, fresh_database  # noqa: F401


def _import(path: Path, lines: list[dict[str, Any]], db: str) -> None:
    path.write_bytes(jsonl(lines))
    result = casewatch("import", str(path), db=db)
    assert result.exit_code == 0, result.stdout + result.stderr


def _all_facts(db: str) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = create_db_engine(db)
    with engine.connect() as conn:
        ids = list(conn.execute(select(EventRow.case_id).distinct()).scalars())
        stored, fresh = stored_facts(conn, ids), fresh_facts(conn, ids)
    engine.dispose()
    return stored, fresh


@st.composite
def _referrals_varied(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The what-if's generated imports, referrals sent to MARAC or the IDVA, some with the
    time of the incident that prompted them."""
    first, second = draw(_streams())
    for line in (*first, *second):
        if line["type"] == "referral_made":
            line["to"] = draw(st.sampled_from(["marac", "idva"]))
            if draw(st.booleans()):
                at = datetime.fromisoformat(line["at"])
                line["incident_at"] = (at - timedelta(days=draw(st.integers(0, 400)))).isoformat()
    return first, second


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(streams=_referrals_varied())
def test_imports_keep_the_facts_equal_to_the_events(
    fresh_database: Any,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
    streams: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Whatever the events and their split into imports, the stored facts are those the
    events give from scratch."""
    db = fresh_database()
    folder = tmp_path_factory.mktemp("facts")
    _import(folder / "first.jsonl", streams[0], db)
    _import(folder / "second.jsonl", streams[1], db)
    stored, fresh = _all_facts(db)
    assert stored == fresh
    assert stored  # every generated case has events, so facts


def _seed(db: str, tmp_path: Path) -> None:
    _import(
        tmp_path / "seed.jsonl",
        [
            ev("case_opened", "F-1", "2014-05-01T09:00:00+01:00", case_type="asb"),
            ev("referral_made", "F-1", "2014-05-02T09:00:00+01:00", to="marac"),
            ev("case_closed", "F-1", "2014-06-01T09:00:00+01:00"),
            ev("case_reopened", "F-1", "2014-07-01T09:00:00+01:00"),
        ],
        db,
    )


def test_check_finds_a_changed_fact(db_url: str, tmp_path: Path, config: Config) -> None:
    """A measure fact that no longer matches the events is reported by `casewatch check`."""
    _seed(db_url, tmp_path)
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        assert check_cases(conn, config.rulesets())[1] == []
        conn.execute(
            update(MeasureFactRow)
            .where(MeasureFactRow.fact == "referral_made")
            .values(detail="idva")
        )
        differences = check_cases(conn, config.rulesets())[1]
    engine.dispose()
    assert [(d.case_id, d.what, d.field, d.stored, d.replayed) for d in differences] == [
        ("F-1", "measure fact", "detail", "idva", "marac")
    ]


def test_the_migration_fills_the_facts_of_stored_events(db_url: str, tmp_path: Path) -> None:
    """Migrating a database that predates the facts fills them from its events."""
    from alembic import command  # noqa: PLC0415 - as casewatch.migrations.schema does

    _seed(db_url, tmp_path)
    _, expected = _all_facts(db_url)
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        conn.commit()
    upgrade(engine)
    engine.dispose()
    stored, _ = _all_facts(db_url)
    assert stored == expected
    assert [row["fact"] for row in stored["F-1"]] == [
        "case_opened", "referral_made", "case_closed", "case_reopened", "open", "open"
    ]  # fmt: skip


def test_rebuild_replaces_every_fact(db_url: str, tmp_path: Path) -> None:
    """A rebuild (a restore's, the migration's) writes the facts of every case afresh."""
    _seed(db_url, tmp_path)
    _, expected = _all_facts(db_url)
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(MeasureFactRow).where(MeasureFactRow.fact == "open"))
        assert rebuild_facts(conn) == len(expected["F-1"])
    engine.dispose()
    assert _all_facts(db_url)[0] == expected


def test_a_large_import_analyses_the_tables_it_loaded(
    postgres_database: PostgresTestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an import above the threshold the per-case tables have planner statistics
    (PostgreSQL never analyses them itself before the first queries)."""
    monkeypatch.setattr(importing, "ANALYZE_AFTER", 1_000)
    db = postgres_database.reset()
    lines = [
        line
        for n in range(600)
        for line in (
            ev("case_opened", f"A-{n}", "2014-05-01T09:00:00+01:00", case_type="asb"),
            ev("incident_reported", f"A-{n}", "2014-05-02T09:00:00+01:00", category="noise"),
        )
    ]
    _import(tmp_path / "large.jsonl", lines, db)
    engine = create_db_engine(db)
    with engine.connect() as conn:
        tuples = dict(
            conn.execute(
                text(
                    "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                    "('cases', 'measure_facts', 'case_rulesets')"
                )
            ).all()
        )
        facts = conn.execute(select(func.count()).select_from(MeasureFactRow)).scalar_one()
    engine.dispose()
    assert tuples == {"cases": 600, "measure_facts": facts, "case_rulesets": 600}
