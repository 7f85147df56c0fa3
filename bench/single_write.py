"""One event at a time: the HTTP service's write path against a one-line import.

    .venv/bin/python bench/single_write.py [--events N] [--cases N] [--backends sqlite,postgresql]

Per backend, two databases get the same --cases cases (opened and assessed high, so
their SLA cycles run) in one `casewatch import`. Then --events events (contact attempts,
incidents, assessments, conferences on random cases) are written one at a time, each to
both: through `Recorder.record` (cases.recording, what the service runs) into one, and
through `Importer.run([line])` (what it ran before) into the other, alternating event by
event so both see the same load on a shared machine. Each write is built as the service
builds it (a new validator and projectors per event) and timed alone, in-process: no
HTTP, no audit row; the SQL statements each write sends are counted too. Prints one
JSON line per backend and path, then the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import fresh_database
from sqlalchemy.event import listen

from casewatch.cases.importing import Importer
from casewatch.cases.recording import Recorder
from casewatch.service.runtime import Runtime, open_runtime

START = datetime(2024, 4, 1, 9, tzinfo=UTC)
KINDS: list[dict[str, Any]] = [
    {"type": "contact_attempted", "method": "call", "outcome": "no answer"},
    {"type": "incident_reported", "category": "noise"},
    {"type": "risk_assessed", "matrix": "asb", "level": "medium"},
    {"type": "case_conference_held", "agencies": ["police", "housing"]},
]


def seed(url: str, cases: int) -> Runtime:
    runtime = open_runtime(url, None, migrate=True)
    lines = []
    for number in range(cases):
        case_id = f"B{number:06d}"
        for event_type, fields in (
            ("case_opened", {"case_type": "asb", "team": "asb-north"}),
            ("risk_assessed", {"matrix": "asb", "level": "high"}),
        ):
            line = {"event_id": f"{case_id}-{event_type}", "type": event_type}
            line |= {"case_id": case_id, "at": START.isoformat(), **fields}
            lines.append(json.dumps(line).encode())
    importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
    summary = importer.run(lines, "bench")
    assert summary.applied == len(lines), summary.as_json()
    return runtime


def events(count: int, cases: int) -> list[bytes]:
    rng = random.Random(5)
    lines = []
    for number in range(count):
        at = START + timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        line = {"event_id": f"web-{number}", "case_id": f"B{rng.randrange(cases):06d}"}
        line |= {"at": at.isoformat(), **rng.choice(KINDS)}
        lines.append(json.dumps(line).encode())
    return lines


def recorded(runtime: Runtime) -> Callable[[bytes], Any]:
    def write(line: bytes) -> Any:
        recorder = Recorder(runtime.engine, runtime.config.validator(), runtime.projectors())
        return recorder.record(line, "api:bench")

    return write


def imported(runtime: Runtime) -> Callable[[bytes], Any]:
    def write(line: bytes) -> Any:
        importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
        return importer.run([line], "api:bench")

    return write


def counter(sent: dict[str, int], name: str) -> Callable[..., None]:
    def count(*_args: Any) -> None:
        sent[name] += 1

    return count


def figures(times: list[float], statements: list[int]) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        "events": len(times),
        "statements_per_event": statistics.median(statements),
        "events_per_s": round(len(times) / sum(times), 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def run(backend: str, count: int, cases: int, folder: Path) -> list[dict[str, Any]]:
    databases = [fresh_database(backend, folder) for _ in range(2)]
    try:
        runtimes = [seed(url, cases) for url, _ in databases]
        paths = {"recorder": recorded(runtimes[0]), "import": imported(runtimes[1])}
        sent = dict.fromkeys(paths, 0)
        for name, runtime in zip(paths, runtimes, strict=True):
            listen(runtime.engine, "before_cursor_execute", counter(sent, name))
        times: dict[str, list[float]] = {name: [] for name in paths}
        statements: dict[str, list[int]] = {name: [] for name in paths}
        for number, line in enumerate(events(count, cases)):
            order = list(paths) if number % 2 == 0 else list(reversed(paths))
            for name in order:
                before = sent[name]
                started = time.perf_counter()
                summary = paths[name](line)
                times[name].append(time.perf_counter() - started)
                statements[name].append(sent[name] - before)
                assert summary.applied == 1, summary.as_json()
        for runtime in runtimes:
            runtime.engine.dispose()
    finally:
        for _, drop in databases:
            drop()
    results = [
        {"backend": backend, "path": name, **figures(times[name], statements[name])}
        for name in times
    ]
    ratio = results[0]["events_per_s"] / results[1]["events_per_s"]
    results.append({"backend": backend, "recorder_over_import": round(ratio, 2)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            for result in run(backend, args.events, args.cases, Path(folder)):
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
