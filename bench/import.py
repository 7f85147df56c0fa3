"""Import throughput, peak memory and the ratio to a bare bulk insert, on SQLite and PostgreSQL.

    .venv/bin/python bench/import.py [--events N] [--cases M] [--backends sqlite,postgresql]

Generates N events over M cases (ten per case: opening, incidents, assessments, a
conference, contacts, a closure), then, each in its own process so peak RSS is that
process's own: `casewatch import` of the file, and a bare bulk insert of the same rows
into the events table (no validation, no checks, no projection). Prints one JSON line
per backend; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from databases import fresh_database

ROOT = Path(__file__).resolve().parents[1]


def write_events(path: Path, events: int, cases: int) -> None:
    per_case = max(1, events // cases)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for case in range(cases):
            case_id = f"B-{case:07d}"
            day = 1 + case % 28
            month = 4 + (case // 28) % 9
            base = f"2014-{month:02d}-{day:02d}"
            lines = [
                {
                    "type": "case_opened",
                    "case_type": "asb" if case % 3 else "domestic_abuse",
                    "team": f"team-{case % 7}",
                    "victim": {"name": f"Victim {case}"},
                },
                {"type": "incident_reported", "category": "noise"},
                {"type": "risk_assessed", "matrix": "asb", "level": "high"},
                {"type": "incident_reported", "category": "harassment", "police_attended": True},
                {"type": "case_conference_held", "agencies": ["police", "housing"]},
                {"type": "contact_attempted", "method": "call"},
                {"type": "contact_attempted", "method": "visit", "outcome": "spoke"},
                {"type": "risk_assessed", "matrix": "asb", "level": "medium"},
                {"type": "incident_reported", "category": "noise"},
                {"type": "case_closed", "outcome": "resolved"},
            ]
            for index in range(per_case):
                if written >= events:
                    return
                body = lines[index % len(lines)] if index < len(lines) else lines[3]
                event = {
                    "event_id": f"{case_id}-{index}",
                    "case_id": case_id,
                    "at": f"{base}T{8 + index % 10:02d}:{index % 60:02d}:00+01:00",
                    **body,
                }
                out.write(json.dumps(event) + "\n")
                written += 1


def run_measured(args: list[str]) -> tuple[float, int, bytes]:
    """Run a child process; return its wall time, peak RSS in MiB and stdout."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:4]} failed: {output[-2000:]!r}")
    return elapsed, usage.ru_maxrss // 1024, output


def bare_insert(path: str, url: str) -> None:
    """Child-process mode: the same rows straight into `events`, batched, nothing else."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from sqlalchemy import insert  # noqa: PLC0415

    from casewatch.cases.db import create_db_engine  # noqa: PLC0415
    from casewatch.cases.events import canonical_json, content_hash  # noqa: PLC0415
    from casewatch.cases.tables import EventRow, ImportBatch  # noqa: PLC0415
    from casewatch.migrations.schema import upgrade  # noqa: PLC0415

    engine = create_db_engine(url)
    upgrade(engine)
    with engine.begin() as conn, open(path, "rb") as lines:
        import_id = conn.execute(
            insert(ImportBatch)
            .values(source="bare", recorded_at=datetime.now(UTC), read=0, applied=0, duplicates=0)
            .returning(ImportBatch.id)
        ).scalar_one()
        batch: list[dict[str, Any]] = []
        for number, raw in enumerate(lines, start=1):
            event = json.loads(raw)
            batch.append(
                {
                    "event_id": event["event_id"],
                    "case_id": event["case_id"],
                    "type": event["type"],
                    "at": datetime.fromisoformat(event["at"]),
                    "import_id": import_id,
                    "line": number,
                    "payload": canonical_json(event),
                    "derived": None,
                    "content_hash": content_hash(event),
                }
            )
            if len(batch) == 2000:
                conn.execute(insert(EventRow), batch)
                batch.clear()
        if batch:
            conn.execute(insert(EventRow), batch)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--bare", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_insert(*args.bare)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events_file = folder / "events.jsonl"
        write_events(events_file, args.events, args.cases)
        for backend in args.backends.split(","):
            url, drop = fresh_database(backend, folder)
            try:
                subprocess.run(
                    [sys.executable, "-m", "casewatch", "init", "--db", url],
                    check=True,
                    capture_output=True,
                )
                seconds, rss, output = run_measured(
                    [sys.executable, "-m", "casewatch", "import", str(events_file), "--db", url]
                )
                summary = json.loads(output)
                assert summary["applied"] == args.events, summary
            finally:
                drop()
            bare_url, drop_bare = fresh_database(backend, folder)
            try:
                bare_seconds, bare_rss, _ = run_measured(
                    [sys.executable, __file__, "--bare", str(events_file), bare_url]
                )
            finally:
                drop_bare()
            print(
                json.dumps(
                    {
                        "backend": backend,
                        "events": args.events,
                        "cases": args.cases,
                        "import_s": round(seconds, 1),
                        "events_per_s": round(args.events / seconds),
                        "peak_rss_mib": rss,
                        "bare_insert_s": round(bare_seconds, 1),
                        "ratio_to_bare": round(seconds / bare_seconds, 2),
                        "bare_peak_rss_mib": bare_rss,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
