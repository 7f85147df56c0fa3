"""Scale-out on PostgreSQL: several real worker processes, one killed with SIGKILL
mid-scan; afterwards every due level has exactly one alert and one delivered message.

PostgreSQL only by design: SQLite is the single-worker embedded default.
Set CASEWATCH_WORKER_TEST_CYCLES to change the number of due cycles (default 20,000).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from tests.cli import casewatch
from tests.databases import PostgresTestDatabase

DUE_CYCLES = int(os.environ.get("CASEWATCH_WORKER_TEST_CYCLES", "20000"))
WORKERS = 4


def count(url: str, sql: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def test_killed_worker_loses_and_duplicates_nothing(
    postgres_database: PostgresTestDatabase, tmp_path: Path
) -> None:
    """4 workers share the due cycles; SIGKILL one mid-scan; each level fires exactly once."""
    url = postgres_database.reset()
    # Each ASB case's conference cycle is 4.5 days into its 5-day target: its warning is
    # due and nothing else is (the risk-reduction cycle's warning comes at 5.6 days).
    started = datetime.now(UTC) - timedelta(days=4, hours=12)
    events = tmp_path / "due.jsonl"
    with events.open("w") as out:
        for number in range(DUE_CYCLES):
            case_id = f"W{number:06d}"
            for event_type, fields in (
                ("case_opened", {"case_type": "asb"}),
                ("risk_assessed", {"matrix": "asb", "level": "high"}),
            ):
                out.write(
                    json.dumps(
                        {
                            "event_id": f"{case_id}-{event_type}",
                            "type": event_type,
                            "case_id": case_id,
                            "at": started.isoformat(),
                            **fields,
                        }
                    )
                    + "\n"
                )
    imported = casewatch("import", str(events), db=url)
    assert imported.exit_code == 0, imported.stdout[:2000]
    assert count(url, "SELECT count(*) FROM sla_cycles WHERE next_check_at <= now()") == DUE_CYCLES

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "casewatch",
                "worker",
                "--scan-every",
                "0.2",
                "--relay-every",
                "0.2",
                "--db",
                url,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 300
        while count(url, "SELECT count(*) FROM alerts") < DUE_CYCLES // 10:
            assert time.monotonic() < deadline, "workers recorded nothing"
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)  # mid-scan: others must finish its work
        while count(url, "SELECT count(*) FROM sla_cycles WHERE next_check_at <= now()") or count(
            url, "SELECT count(*) FROM outbox WHERE state <> 'sent'"
        ):
            assert time.monotonic() < deadline, "the surviving workers did not finish"
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    assert workers[0].returncode == -signal.SIGKILL
    assert count(url, "SELECT count(*) FROM alerts") == DUE_CYCLES
    assert count(url, "SELECT count(*) FROM alerts WHERE level <> 'warning'") == 0
    assert (
        count(url, "SELECT count(DISTINCT (case_id, policy, cycle_started_at, level)) FROM alerts")
        == DUE_CYCLES
    )
    assert count(url, "SELECT count(*) FROM outbox WHERE state = 'sent'") == DUE_CYCLES
    assert count(url, "SELECT count(DISTINCT alert_id) FROM outbox") == DUE_CYCLES
