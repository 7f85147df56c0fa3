"""One event posted through the application, as the HTTP service posts it: statements and
CPU per post, in-process.

    .venv/bin/python bench/post_event.py [--posts N] [--cases N] [--backends ...] [--baseline REV]

Per backend, a throwaway database gets --cases cases shaped like bench/http_load.py's (an
ASB case opened with a victim, assessed high, an incident and a contact attempt), and a
caseworker of their teams. Then --posts contact attempts to random cases go through
`Application.handle(RecordEvent(...))`, what `POST /api/v1/cases/{id}/events` runs: the
scope check, the write with its audit row, and the case view returned. Counted per post:
the SQL statements sent, the CPU time of this Python process (`time.process_time`, which
the machine's other load moves far less than wall time) and the wall time.

--baseline REV runs the same posts, on a database seeded alike, with the `casewatch`
package of that commit first on the path, in a child process right after this one: the
two lines printed per backend are then a before/after pair measured back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import extract, fresh_database

TEAMS = 3


def seed(url: str, cases: int) -> Any:
    from casewatch.cases.importing import Importer  # noqa: PLC0415 - after the path is set
    from casewatch.service import accounts  # noqa: PLC0415
    from casewatch.service.runtime import open_runtime  # noqa: PLC0415

    runtime = open_runtime(url, None, migrate=True)
    year = datetime(2014, 4, 1, 9, tzinfo=UTC)
    lines = []
    for number in range(cases):
        case_id = f"H-{number:07d}"
        opened = year + timedelta(minutes=(number * 5_237) % (360 * 24 * 60))
        bodies: list[dict[str, Any]] = [
            {"type": "case_opened", "case_type": "asb", "team": f"bench-{number % TEAMS}",
             "victim": {"name": f"Victim {number}"}},
            {"type": "risk_assessed", "matrix": "asb", "level": "high"},
            {"type": "incident_reported", "category": "noise", "police_attended": True},
            {"type": "contact_attempted", "method": "visit", "outcome": "spoke"},
        ]  # fmt: skip
        for index, body in enumerate(bodies):
            at = (opened + timedelta(hours=index)).isoformat()
            event = {"event_id": f"{case_id}-{index}", "case_id": case_id, "at": at, **body}
            lines.append(json.dumps(event).encode())
    importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
    summary = importer.run(lines, "bench")
    assert summary.applied == len(lines), summary.as_json()
    with runtime.engine.begin() as conn:
        accounts.add_user(
            conn,
            username="worker",
            display_name="worker",
            role="caseworker",
            agency="council",
            teams=[f"bench-{n}" for n in range(TEAMS)],
            password="a long enough password",  # noqa: S106 - a throwaway bench user
            now=datetime.now(UTC),
        )
        principal = accounts.list_users(conn)[0]
    return runtime, principal


def measure(url: str, posts: int, cases: int) -> dict[str, Any]:
    from sqlalchemy.event import listen  # noqa: PLC0415

    from casewatch.app.commands import RecordEvent  # noqa: PLC0415
    from casewatch.service.bootstrap import bootstrap  # noqa: PLC0415

    runtime, who = seed(url, cases)
    app = bootstrap(runtime)
    sent = [0]
    listen(runtime.engine, "before_cursor_execute", lambda *_: sent.__setitem__(0, sent[0] + 1))
    rng = random.Random(7)
    statements, cpu, wall = [], [], []
    body = {"type": "contact_attempted", "method": "call"}
    for number in range(posts + 10):
        case_id = f"H-{rng.randrange(cases):07d}"
        before, started, ticks = sent[0], time.perf_counter(), time.process_time()
        view = app.handle(RecordEvent(who, case_id, dict(body), "127.0.0.1"))
        if number >= 10:  # the first few warm the caches and the pool
            cpu.append(time.process_time() - ticks)
            wall.append(time.perf_counter() - started)
            statements.append(sent[0] - before)
        assert view.case_id == case_id
    runtime.engine.dispose()
    return {
        "posts": posts,
        "statements_per_post": statistics.median(statements),
        "cpu_ms_per_post": round(1000 * sum(cpu) / len(cpu), 2),
        "wall_p50_ms": round(1000 * statistics.median(wall), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--baseline", help="a commit whose casewatch runs the same posts after")
    parser.add_argument("--label", default="this checkout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            url, drop = fresh_database(backend, Path(folder))
            try:
                result = measure(url, args.posts, args.cases)
            finally:
                drop()
            print(json.dumps({"code": args.label, "backend": backend, **result}), flush=True)
        if args.baseline:
            old = extract(args.baseline, Path(folder))
            path = os.pathsep.join([str(old), str(Path(__file__).parent)])
            env = {**os.environ, "PYTHONPATH": path}
            command = [sys.executable, __file__, "--posts", str(args.posts), "--cases",
                       str(args.cases), "--backends", args.backends,
                       "--label", f"baseline {args.baseline}"]  # fmt: skip
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
