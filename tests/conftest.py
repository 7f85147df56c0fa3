"""Shared fixtures: configuration, and the same storage tests on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from casewatch.cases.db import create_db_engine
from casewatch.service.config import Config, load_config
from tests.databases import PostgresTestDatabase, SqliteTemplate
from tests.web import Site, make_site


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(None)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresTestDatabase]:
    database = PostgresTestDatabase()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("_sqlite_template")
        return template.copy_to(tmp_path)
    postgres: PostgresTestDatabase = request.getfixturevalue("postgres_database")
    return postgres.reset()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    """The HTTP service on a seeded database: people of every role, the seed year."""
    yield from make_site(db_url)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient[Litestar]]:
    with TestClient(site.app) as client:
        yield client
