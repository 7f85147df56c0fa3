"""The HTTP benchmark's baseline: the least a case view over this stack could cost.

One Litestar route, served by the same uvicorn with the same worker count as `casewatch
serve`, whose handler makes three round trips to the same database in one transaction:
the case row by id, its events in effect order, and an audit-shaped INSERT that is rolled
back (a write, as a casewatch view writes its audit row; on SQLite it takes the write
lock as casewatch's does). It answers the case's row and decoded events as JSON.
Anything casewatch costs beyond this is ours: access rules, replaying the rules,
building the view, the audit trail, the framework features we use.

    CASEWATCH_BENCH_BASELINE_DB=URL uvicorn --factory http_baseline:from_environment
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any, Final

from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from sqlalchemy import Engine, text

from casewatch.cases.db import create_db_engine

DB_ENV: Final = "CASEWATCH_BENCH_BASELINE_DB"
_CASE: Final = text("SELECT case_id, case_type, team, caseworker FROM cases WHERE case_id = :id")
_EVENTS: Final = text("SELECT payload FROM events WHERE case_id = :id ORDER BY at, import_id, line")
_WRITE: Final = text(
    "INSERT INTO audit_log (at, user_id, username, action, case_id, detail, address) "
    "VALUES (:at, NULL, 'bench.baseline', 'case.view', :id, '{}', '127.0.0.1')"
)


def create_app(engine: Engine) -> Litestar:
    @get("/api/v1/cases/{case_id:str}", sync_to_thread=True)
    def view(case_id: str) -> dict[str, Any]:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                row = conn.execute(_CASE, {"id": case_id}).first()
                if row is None:
                    raise NotFoundException
                events = [json.loads(p) for (p,) in conn.execute(_EVENTS, {"id": case_id})]
                conn.execute(_WRITE, {"at": datetime.now(UTC).isoformat(), "id": case_id})
            finally:
                transaction.rollback()
        return {"case": dict(row._mapping), "events": events}

    return Litestar(route_handlers=[view], on_shutdown=[engine.dispose], debug=False,
                    logging_config=None)  # fmt: skip


def from_environment() -> Litestar:
    """uvicorn's factory in each worker process: its own engine and pool."""
    return create_app(create_db_engine(os.environ[DB_ENV]))
