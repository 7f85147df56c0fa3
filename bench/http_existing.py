"""bench/http_load.py's load against a database it already set up: the same servers,
wrk script and baseline runs either side of each scenario, without the import (which
takes minutes at 100,000 cases). The code served is whichever `casewatch` package comes
first on PYTHONPATH, so old and new code can be loaded against one database in turn
(a schema step between them with alembic up or down as needed).

    python bench/http_existing.py ACCESS.json --scenarios inbox,team --duration 10

ACCESS.json: {"url": ..., "token": ..., "manager_token": ...} — the database URL and the
caseworker's and manager's API tokens that `http_load.prepare()` returned; a fresh
browser session for the manager is started here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import http_load as h
from sqlalchemy import select

import casewatch
from casewatch.cases.db import create_db_engine
from casewatch.service import accounts
from casewatch.service.tables import UserRow


def manager_session(url: str) -> str:
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            manager = conn.execute(
                select(UserRow.id).where(UserRow.username == h.MANAGER)
            ).scalar_one()
            session, _csrf = accounts.start_session(conn, manager, datetime.now(UTC))
    finally:
        engine.dispose()
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("access", type=Path)
    parser.add_argument("--scenarios", default="inbox,team")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--cases", type=int, default=100_000, help="as the database holds")
    options = parser.parse_args()
    options.threads, options.connections, options.timeout = 2, 16, 5
    given = json.loads(options.access.read_text(encoding="utf-8"))
    url = given["url"]
    access = {**given, "session": manager_session(url)}
    scenarios = options.scenarios.split(",")
    wrk = h.ensure_wrk()
    print(f"http: serving {casewatch.__file__}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "casewatch.lua"
        script.write_text(h.LUA, encoding="utf-8")
        with (
            h.serving(url, folder / "serve.log", 1) as base,
            h.serving_baseline(url, folder / "baseline.log", 1) as baseline_base,
        ):
            h.check_api(base, access, scenarios)

            def load(scenario: str, address: str, seconds: int) -> dict[str, Any]:
                raw = h.run_wrk(wrk, address, script, scenario=scenario, access=access,
                                seconds=seconds, options=options)  # fmt: skip
                return h.summarise("postgresql", scenario, raw) | {"workers": 1}

            load("view", base, 3)
            h.settle(base)
            load(h.BASELINE, baseline_base, 3)
            baselines = [load(h.BASELINE, baseline_base, options.duration)]
            for scenario in scenarios:
                result = load(scenario, base, options.duration)
                h.settle(base)
                baselines.append(load(h.BASELINE, baseline_base, options.duration))
                before, after = (b["ok_per_s"] for b in baselines[-2:])
                results.append(h.against_baseline(result, before, after))
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end")
    print(h.table(results))


if __name__ == "__main__":
    main()
