"""`report sla` and `report pack` over a year of N stored cycles (default 1,000,000).

    .venv/bin/python bench/report.py [--cycles N] [--backends postgresql,sqlite]

Fills a throwaway database with synthetic cases (four cycles each, a third of them
breached or excluded, so the drill-down is large), their events and flags, then times the
real command line as a user runs it, start-up included: the JSON report of FY2014 (plain,
with the drill-down, with --compare previous) and the whole board pack. Each report runs
three times and the median is reported; the pack runs once, then its parts are timed
in-process. Prints JSON lines; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from databases import fill_year, fresh_database

from casewatch.reports.board import ReportRequest
from casewatch.reports.periods import parse_period
from casewatch.service.reporting import build_report, pack_files
from casewatch.service.runtime import open_runtime

CASEWATCH = Path(sys.executable).with_name("casewatch")
RUNS = 3


def timed(url: str, *args: str, runs: int = RUNS) -> tuple[float, int]:
    """Median wall-clock seconds of the command, and the bytes it printed."""
    times, size = [], 0
    env = {**os.environ, "CASEWATCH_DATABASE_URL": url}
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([str(CASEWATCH), *args], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
        size = len(done.stdout)
    return round(statistics.median(times), 3), size


def pack_parts(url: str) -> dict[str, float]:
    """Where the pack's time goes: building the report, then each file, in-process."""
    runtime = open_runtime(url, None)
    request = ReportRequest(
        period=parse_period("FY2014"),
        as_of=datetime(2015, 6, 30, tzinfo=UTC),
        compare="previous",
        quarters=True,
    )
    started = time.perf_counter()
    report = build_report(runtime, request)
    parts = {"build_report": round(time.perf_counter() - started, 3)}
    for name, make in pack_files(report, None).items():
        started = time.perf_counter()
        make()
        parts[name] = round(time.perf_counter() - started, 3)
    parts["misses"] = len(report["misses"])
    runtime.engine.dispose()
    return parts


def bench(backend: str, cycles: int, folder: Path) -> dict[str, Any]:
    url, drop = fresh_database(backend, folder)
    try:
        started = time.perf_counter()
        fill_year(url, cycles, events=True)
        filled = round(time.perf_counter() - started, 1)
        return {"backend": backend, "cycles": cycles, "fill_s": filled} | measure(url, folder)
    finally:
        drop()


def measure(url: str, folder: Path) -> dict[str, Any]:
    """Time the commands against a filled database."""
    result: dict[str, Any] = {}
    period = ("report", "sla", "--period", "FY2014", "--as-of", "2015-06-30")
    result["json_s"], result["json_bytes"] = timed(url, *period)
    result["json_details_s"], result["json_details_bytes"] = timed(url, *period, "--details")
    result["json_compare_s"], _ = timed(url, *period, "--compare", "previous")
    pack = folder / "pack"
    result["pack_s"], _ = timed(
        url, "report", "pack", "--period", "FY2014", "--as-of", "2015-06-30",
        "--output", str(pack), runs=1,
    )  # fmt: skip
    result["pack_files"] = {p.name: p.stat().st_size for p in sorted(pack.iterdir())}
    result["pack_parts_s"] = pack_parts(url)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgresql")
    parser.add_argument("--db", help="time an existing database (filled earlier) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            print(json.dumps({"db": "existing"} | measure(args.db, Path(tmp))), flush=True)
            return
        for backend in args.backends.split(","):
            print(json.dumps(bench(backend, args.cycles, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
