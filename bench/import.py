"""Import throughput, peak memory and the ratio to a bare bulk insert, on SQLite and PostgreSQL.

    .venv/bin/python bench/import.py [--events N] [--cases M] [--backends sqlite,postgresql]
                                     [--baseline GIT-REV] [--whatif]

Generates N events over M cases (ten per case: opening, incidents, assessments, a
conference, contacts, a closure), then, each in its own process so peak RSS is that
process's own: `casewatch import` of the file, and a bare bulk insert of the same rows
into the events table (no validation, no checks, no projection). Prints one JSON line
per backend; docs/benchmarks.md records the figures.

`--baseline REV` also imports the same file with the casewatch of that commit (extracted
with `git archive`, put first on PYTHONPATH), in the same run, for a side-by-side figure.
`--whatif` times `casewatch whatif` over the imported data (FY2014, the conference target
proposed at 7 days) against the import's own time. `--repeat K` alternates the codes K
times. CPU seconds (user + system of the command and the children it waited for) are
printed beside wall seconds: on a shared machine they are the steadier comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from databases import ROOT, extract, fresh_database, run_measured, run_timed, write_events


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
    parser.add_argument("--baseline", help="a git revision to measure beside this code")
    parser.add_argument("--whatif", action="store_true", help="time casewatch whatif too")
    parser.add_argument(
        "--repeat", type=int, default=1, help="import this many times per code, alternating"
    )
    parser.add_argument("--bare", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_insert(*args.bare)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events_file = folder / "events.jsonl"
        write_events(events_file, args.events, args.cases)
        codes = {"this": None}
        if args.baseline:
            codes = {f"baseline {args.baseline}": extract(args.baseline, folder), **codes}
        for backend in args.backends.split(","):
            bare_url, drop_bare = fresh_database(backend, folder)
            try:
                bare_seconds, bare_rss, _ = run_measured(
                    [sys.executable, __file__, "--bare", str(events_file), bare_url]
                )
            finally:
                drop_bare()
            for code, path in [item for _ in range(args.repeat) for item in codes.items()]:
                figures = import_once(backend, folder, events_file, path, args)
                seconds = figures.pop("import_s")
                print(
                    json.dumps(
                        {
                            "backend": backend,
                            "code": code,
                            "events": args.events,
                            "cases": args.cases,
                            "import_s": round(seconds, 1),
                            "events_per_s": round(args.events / seconds),
                            "bare_insert_s": round(bare_seconds, 1),
                            "ratio_to_bare": round(seconds / bare_seconds, 2),
                            "bare_peak_rss_mib": bare_rss,
                            **figures,
                        }
                    ),
                    flush=True,
                )


def import_once(
    backend: str, folder: Path, events_file: Path, code: Path | None, args: argparse.Namespace
) -> dict[str, Any]:
    """One import (and, asked for, one what-if) with the given code on a fresh database.

    The children run in `folder`: `python -m` puts the working directory first on the
    path, so started from the repository root every child imported this checkout's
    casewatch, ahead of the baseline's on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}
    url, drop = fresh_database(backend, folder)
    try:
        subprocess.run(
            [sys.executable, "-m", "casewatch", "init", "--db", url],
            check=True,
            capture_output=True,
            env=env,
            cwd=folder,
        )
        seconds, cpu, rss, output = run_timed(
            [sys.executable, "-m", "casewatch", "import", str(events_file), "--db", url],
            env,
            folder,
        )
        summary = json.loads(output)
        assert summary["applied"] == args.events, summary
        imported_from = subprocess.run(
            [sys.executable, "-c", "import casewatch; print(casewatch.__file__)"],
            check=True, capture_output=True, text=True, env=env, cwd=folder,
        ).stdout.strip()  # fmt: skip
        figures: dict[str, Any] = {
            "casewatch_from": str(Path(imported_from).parents[1]),
            "import_s": seconds,
            "import_cpu_s": round(cpu, 1),
            "peak_rss_mib": rss,
        }
        if args.whatif and code is None:
            proposal = folder / "proposal"
            proposal.mkdir(exist_ok=True)
            shipped = (ROOT / "casewatch" / "config" / "policies.yaml").read_text()
            (proposal / "policies.yaml").write_text(
                shipped.replace(
                    "target: {days: 5, kind: calendar}", "target: {days: 7, kind: calendar}", 1
                )
            )
            whatif_s, whatif_cpu, whatif_rss, out = run_timed(
                [sys.executable, "-m", "casewatch", "whatif", "--config", str(proposal),
                 "--period", "FY2014", "--as-of", "2015-06-30", "--db", url], env, folder
            )  # fmt: skip
            cohort = sum((e["proposed"] or {}).get("cohort", 0) for e in json.loads(out)["slas"])
            figures |= {
                "whatif_s": round(whatif_s, 1),
                "whatif_to_import": round(whatif_s / seconds, 2),
                "whatif_cpu_s": round(whatif_cpu, 1),
                "whatif_peak_rss_mib": whatif_rss,
                "whatif_cycles": cohort,
            }
        return figures
    finally:
        drop()


if __name__ == "__main__":
    main()
