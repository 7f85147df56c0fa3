"""The SLA scan scales with due work, not with the number of running cycles.

    .venv/bin/python bench/scan.py [--due N] [--running SMALL,LARGE] [--breaches N] [--workers 1,4]

1. Scan time with --due cycles due among each --running total, on PostgreSQL: the due
   cases are real (imported events whose warnings are due); the rest are synthetic
   running cycles whose next check is in the future. Reports the ratio large/small.
2. --breaches cases whose warning and breach are both due at once, worked off by 1 and
   by 4 `casewatch worker` processes: alerts per second through scan and relay, and each
   worker's peak RSS.
Prints JSON lines; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from databases import fresh_database, synthetic_case
from sqlalchemy import insert, text

from casewatch.cases.importing import Importer
from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import SlaCycleRow
from casewatch.notifications.scan import scan
from casewatch.service.runtime import open_runtime


def import_due_cases(url: str, count: int, started: datetime, prefix: str) -> None:
    runtime = open_runtime(url, None, migrate=True)
    lines = []
    for number in range(count):
        case_id = f"{prefix}{number:07d}"
        for event_type, fields in (
            ("case_opened", {"case_type": "asb"}),
            ("risk_assessed", {"matrix": "asb", "level": "high"}),
        ):
            lines.append(
                json.dumps(
                    {
                        "event_id": f"{case_id}-{event_type}",
                        "type": event_type,
                        "case_id": case_id,
                        "at": started.isoformat(),
                        **fields,
                    }
                ).encode()
            )
    Importer(runtime.engine, runtime.config.validator(), runtime.projectors()).run(lines, "bench")
    runtime.engine.dispose()


def add_idle_cycles(url: str, count: int) -> None:
    """Running cycles whose next check is a year away: present, indexed, never due."""
    runtime = open_runtime(url, None)
    rng = random.Random(3)
    later = datetime.now(UTC) + timedelta(days=365)
    now = datetime.now(UTC)
    with runtime.engine.begin() as conn:
        for first in range(0, count, 10_000):
            cases, cycles = [], []
            for number in range(first, min(first + 10_000, count)):
                case_id = f"IDLE{number:08d}"
                started = now - timedelta(minutes=rng.randint(0, 60))
                cases.append(synthetic_case(case_id, started, None))
                cycles.append(
                    {
                        "case_id": case_id,
                        "policy": "asb-high-risk-conference",
                        "cycle": 1,
                        "policy_version": "x",
                        "ruleset_version": "x",
                        "working_days": False,
                        "state": "running",
                        "started_at": started,
                        "due_at": started + timedelta(days=5),
                        "warn_at": started + timedelta(days=4),
                        "paused_since": None,
                        "stopped_at": None,
                        "outcome": None,
                        "breach_reason": None,
                        "exclusion_reason": None,
                        "start_event_id": f"{case_id}-s",
                        "stop_event_id": None,
                        "next_check_at": later,
                    }
                )
            conn.execute(insert(CaseRow), cases)
            conn.execute(insert(SlaCycleRow), cycles)
        conn.execute(text("ANALYZE sla_cycles"))
    runtime.engine.dispose()


def scan_seconds(due: int, running: int) -> float:
    url, drop = fresh_database("postgresql", Path("."))
    try:
        now = datetime.now(UTC)
        import_due_cases(url, due, now - timedelta(days=4, hours=12), "DUE")
        add_idle_cycles(url, running - 2 * due)
        runtime = open_runtime(url, None)
        started = time.perf_counter()
        result = scan(
            runtime.engine,
            runtime.config.rulesets(),
            runtime.config.routing,
            now,
            runtime.config.timezone,
        )
        elapsed = time.perf_counter() - started
        assert result.warnings == due, result
        runtime.engine.dispose()
        return elapsed
    finally:
        drop()


def worker_throughput(breaches: int, workers: int) -> dict[str, Any]:
    url, drop = fresh_database("postgresql", Path("."))
    try:
        import_due_cases(url, breaches, datetime.now(UTC) - timedelta(days=5, hours=12), "B")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "casewatch",
                    "worker",
                    "--scan-every",
                    "0.5",
                    "--relay-every",
                    "0.5",
                    "--db",
                    url,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        ) as conn:
            while True:
                (due,) = conn.execute(
                    "SELECT count(*) FROM sla_cycles WHERE next_check_at <= now()"
                ).fetchone()  # type: ignore[misc]
                (pending,) = conn.execute(
                    "SELECT count(*) FROM outbox WHERE state <> 'sent'"
                ).fetchone()  # type: ignore[misc]
                (alerts,) = conn.execute("SELECT count(*) FROM alerts").fetchone()  # type: ignore[misc]
                if due == 0 and pending == 0 and alerts >= 2 * breaches:
                    break
                time.sleep(0.5)
        elapsed = time.perf_counter() - started
        rss = []
        for process in processes:
            process.send_signal(signal.SIGTERM)
            _, _, usage = os.wait4(process.pid, 0)
            rss.append(usage.ru_maxrss // 1024)
        return {
            "workers": workers,
            "alerts": alerts,
            "seconds": round(elapsed, 1),
            "alerts_per_s": round(alerts / elapsed),
            "peak_rss_mib_per_worker": max(rss),
        }
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--running", default="10000,1000000")
    parser.add_argument("--breaches", type=int, default=100_000)
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()
    small, large = (int(n) for n in args.running.split(","))
    timings = {size: scan_seconds(args.due, size) for size in (small, large)}
    print(
        json.dumps(
            {
                "part": "scan_scales_with_due_work",
                "due": args.due,
                "running_small": small,
                "running_large": large,
                "scan_s_small": round(timings[small], 3),
                "scan_s_large": round(timings[large], 3),
                "ratio": round(timings[large] / timings[small], 2),
            }
        ),
        flush=True,
    )
    for workers in (int(n) for n in args.workers.split(",")):
        print(
            json.dumps(
                {
                    "part": "breaches_at_once",
                    "cases": args.breaches,
                    **worker_throughput(args.breaches, workers),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
