"""`report sla` and `report pack` over a year of N stored cycles (default 1,000,000).

    .venv/bin/python bench/report.py [--cycles N] [--backends postgresql,sqlite]
                                     [--baseline GIT-REV] [--db URL]

Fills a throwaway database with synthetic cases (four cycles each, a third of them
breached or excluded, so the drill-down is large), their events and flags, then times the
real command line as a user runs it, start-up included: the JSON report of FY2014 (plain,
with the drill-down, with --compare previous) and the whole board pack. Each report runs
three times and the median is reported; the pack runs once, then its parts are timed
in-process. Prints JSON lines; docs/benchmarks.md records the figures.

`--baseline REV` times the casewatch of that commit (extracted with `git archive`, first
on PYTHONPATH) on the same filled database in the same run, before this code. A database
filled by this code may hold tables an older one does not know (it ignores them): while
the baseline runs, the schema stamp is set to the baseline's head, then put back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from databases import extract, fill_year, fresh_database

from casewatch.reports.board import ReportRequest
from casewatch.reports.counts import Window
from casewatch.reports.measures import measure_values
from casewatch.reports.periods import parse_period
from casewatch.reports.sla import period_bounds
from casewatch.service.reporting import build_report, pack_files
from casewatch.service.runtime import open_runtime

CASEWATCH = Path(sys.executable).with_name("casewatch")
RUNS = 3


def _env(url: str, code: Path | None) -> dict[str, str]:
    env = {**os.environ, "CASEWATCH_DATABASE_URL": url}
    return env | {"PYTHONPATH": str(code)} if code else env


def timed(url: str, *args: str, runs: int = RUNS, code: Path | None = None) -> tuple[float, int]:
    """Median wall-clock seconds of the command, and the bytes it printed."""
    times, size = [], 0
    env = _env(url, code)
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([str(CASEWATCH), *args], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
        size = len(done.stdout)
    return round(statistics.median(times), 3), size


def pack_parts(url: str) -> dict[str, float]:
    """Where the pack's time goes: the measure counts of the period alone, building the
    report, then each file, in-process."""
    runtime = open_runtime(url, None)
    request = ReportRequest(
        period=parse_period("FY2014"),
        as_of=datetime(2015, 6, 30, tzinfo=UTC),
        compare="previous",
        quarters=True,
    )
    config = runtime.config
    start, end = period_bounds(request.period.first, request.period.last, config.timezone)
    started = time.perf_counter()
    with runtime.engine.connect() as conn:
        measure_values(conn, config.measures, Window(start, end, request.as_of, config.timezone))
    measures_s = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    report = build_report(runtime, request)
    parts = {"measures": measures_s, "build_report": round(time.perf_counter() - started, 3)}
    for name, make in pack_files(report, None).items():
        started = time.perf_counter()
        make()
        parts[name] = round(time.perf_counter() - started, 3)
    parts["misses"] = len(report["misses"])
    runtime.engine.dispose()
    return parts


def bench(backend: str, cycles: int, folder: Path, codes: dict[str, Path | None]) -> None:
    url, drop = fresh_database(backend, folder)
    try:
        started = time.perf_counter()
        fill_year(url, cycles, events=True)
        filled = round(time.perf_counter() - started, 1)
        for code, path in codes.items():
            figures = {"backend": backend, "cycles": cycles, "fill_s": filled, "code": code}
            print(json.dumps(figures | measure(url, folder, path)), flush=True)
    finally:
        drop()


def measure(url: str, folder: Path, code: Path | None = None) -> dict[str, Any]:
    """Time the commands against a filled database, with this code or the one at `code`."""
    with _stamped(url, code):
        result: dict[str, Any] = {}
        period = ("report", "sla", "--period", "FY2014", "--as-of", "2015-06-30")
        result["json_s"], result["json_bytes"] = timed(url, *period, code=code)
        result["json_details_s"], result["json_details_bytes"] = timed(
            url, *period, "--details", code=code
        )
        result["json_compare_s"], _ = timed(url, *period, "--compare", "previous", code=code)
        pack = folder / "pack"
        shutil.rmtree(pack, ignore_errors=True)
        result["pack_s"], _ = timed(
            url, "report", "pack", "--period", "FY2014", "--as-of", "2015-06-30",
            "--output", str(pack), runs=1, code=code,
        )  # fmt: skip
        result["pack_files"] = {p.name: p.stat().st_size for p in sorted(pack.iterdir())}
        parts = subprocess.run(
            [sys.executable, __file__, "--parts", url],
            env=_env(url, code),
            capture_output=True,
            check=True,
        )
        result["pack_parts_s"] = json.loads(parts.stdout)
    return result


@contextmanager
def _stamped(url: str, code: Path | None) -> Iterator[None]:
    """The baseline's head revision in the schema stamp while it runs, so it opens the
    database (the tables it does not know are simply unread)."""
    if code is None:
        yield
        return
    from sqlalchemy import text  # noqa: PLC0415

    from casewatch.cases.db import create_db_engine  # noqa: PLC0415

    schema = (code / "casewatch" / "migrations" / "schema.py").read_text(encoding="utf-8")
    found = re.search(r'^HEAD_REVISION: Final = "([^"]+)"', schema, re.MULTILINE)
    assert found, "the baseline names no HEAD_REVISION"
    head = found.group(1)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        ours = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": ours})
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgresql")
    parser.add_argument("--db", help="time an existing database (filled earlier) instead")
    parser.add_argument("--baseline", help="a git revision to time beside this code")
    parser.add_argument("--parts", help=argparse.SUPPRESS)  # child mode: pack_parts(URL)
    args = parser.parse_args()
    if args.parts:
        print(json.dumps(pack_parts(args.parts)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        codes: dict[str, Path | None] = {"this": None}
        if args.baseline:
            codes = {f"baseline {args.baseline}": extract(args.baseline, Path(tmp)), **codes}
        if args.db:
            for code, path in codes.items():
                figures = {"db": "existing", "code": code} | measure(args.db, Path(tmp), path)
                print(json.dumps(figures), flush=True)
            return
        for backend in args.backends.split(","):
            bench(backend, args.cycles, Path(tmp), codes)


if __name__ == "__main__":
    main()
