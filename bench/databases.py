"""Shared by the benchmarks: throwaway databases and synthetic filler rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

PG_SERVER = os.environ.get("CASEWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
_ADMIN = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def fresh_database(backend: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """A URL for an empty database and the function that removes it."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    import psycopg  # noqa: PLC0415 - only needed for the PostgreSQL half

    name = f"casewatch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{PG_SERVER}/{name}", drop


def synthetic_case(case_id: str, started: datetime, team: str | None) -> dict[str, Any]:
    """A `cases` row for a high-risk ASB case with no events: filler for size benchmarks."""
    return {
        "case_id": case_id,
        "case_type": "asb",
        "team": team,
        "caseworker": None,
        "status": "open",
        "opened_at": started,
        "closed_at": None,
        "risk_level": "high",
        "risk_matrix": "asb",
        "risk_score": None,
        "incident_count": 0,
        "event_count": 2,
        "last_event_at": started,
        "updated_at": started,
        "version": 1,
    }
