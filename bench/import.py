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
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from databases import fresh_database, run_measured, write_events

ROOT = Path(__file__).resolve().parents[1]


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
