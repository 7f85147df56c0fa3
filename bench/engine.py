"""Rule evaluation speed, `report sla` over many cycles, and the cost of a late event.

    .venv/bin/python bench/engine.py [--cycles N] [--small N] [--backends sqlite,postgresql]

1. Evaluations per second of the durable-rules and reference evaluators on the same
   stream of snapshots (a generated mix of events over many cases).
2. `report sla` for a year over N stored cycles: the cases and cycles tables are filled
   with synthetic rows (outcomes, reasons, teams spread over the year), then the report
   runs in-process three times; the median is reported.
3. The cost of a late event: one case with real events, imported normally; a late
   conference for it is imported into a database holding --small cycles and one holding
   --cycles cycles. The time should follow that case's events, not the database's size.
Prints JSON lines; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import fill_year, fresh_database

from casewatch.cases.importing import Importer
from casewatch.cases.state import CaseState, apply
from casewatch.engine.evaluators import DurableEvaluator, ReferenceEvaluator
from casewatch.engine.snapshot import build_snapshot
from casewatch.reports.sla import sla_report
from casewatch.service.config import load_config
from casewatch.service.runtime import open_runtime


def evaluator_speed(count: int) -> dict[str, Any]:
    config = load_config()
    validator = config.validator()
    rng = random.Random(7)
    snapshots = []
    state = CaseState(case_id="C")
    at = datetime(2014, 4, 1, 9, tzinfo=UTC)
    kinds = [
        {"type": "risk_assessed", "matrix": "asb", "level": "high"},
        {"type": "risk_assessed", "matrix": "asb", "level": "medium"},
        {"type": "incident_reported", "category": "noise"},
        {"type": "case_conference_held"},
        {"type": "referral_made", "to": "marac"},
        {"type": "contact_attempted", "method": "call"},
    ]
    for index in range(2_000):
        at += timedelta(hours=rng.randint(1, 72))
        line = {"event_id": f"e{index}", "case_id": "C", "at": at.isoformat(), **rng.choice(kinds)}
        if index == 0:
            line = {
                "event_id": "e0",
                "case_id": "C",
                "at": at.isoformat(),
                "type": "case_opened",
                "case_type": "asb",
            }
        event = validator.validate(line).event
        before, state = state, apply(state, event)
        snapshots.append(build_snapshot(before, event, state, config.rules, config.calendar))
    result: dict[str, Any] = {"part": "evaluators", "evaluations": count}
    for name, evaluator in (
        ("durable", DurableEvaluator(config.rules)),
        ("reference", ReferenceEvaluator(config.rules)),
    ):
        started = time.perf_counter()
        for index in range(count):
            evaluator.matching(snapshots[index % len(snapshots)])
        result[f"{name}_per_s"] = round(count / (time.perf_counter() - started))
    result["reference_over_durable"] = round(result["reference_per_s"] / result["durable_per_s"], 2)
    return result


def report_time(url: str) -> float:
    runtime = open_runtime(url, None)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with runtime.engine.connect() as conn, conn.begin():
            sla_report(
                conn,
                policies=runtime.config.policies,
                rulesets=runtime.config.rulesets(),
                date_from=date(2014, 4, 1),
                date_to=date(2015, 3, 31),
                as_of=datetime(2015, 6, 30, tzinfo=UTC),
                tz=runtime.config.timezone,
            )
        times.append(time.perf_counter() - started)
    runtime.engine.dispose()
    return statistics.median(times)


def late_event_time(url: str, folder: Path) -> float:
    runtime = open_runtime(url, None)
    lines = [
        {
            "event_id": "late-0",
            "type": "case_opened",
            "case_id": "LATE",
            "case_type": "asb",
            "at": "2014-05-01T09:00:00+01:00",
        }
    ]
    lines += [
        {
            "event_id": f"late-{i}",
            "type": "incident_reported",
            "case_id": "LATE",
            "category": "noise",
            "at": f"2014-05-{2 + i % 20:02d}T{8 + i % 10:02d}:00:00+01:00",
        }
        for i in range(1, 40)
    ]
    lines.append(
        {
            "event_id": "late-h",
            "type": "risk_assessed",
            "case_id": "LATE",
            "matrix": "asb",
            "level": "high",
            "at": "2014-05-06T10:30:00+01:00",
        }
    )
    importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
    importer.run([json.dumps(line).encode() for line in lines], "bench")
    times = []
    for attempt in range(3):
        late = {
            "event_id": f"late-c{attempt}",
            "type": "contact_attempted",
            "case_id": "LATE",
            "method": "call",
            "at": f"2014-05-0{3 + attempt}T09:00:00+01:00",
        }
        started = time.perf_counter()
        importer.run([json.dumps(late).encode()], "bench")
        times.append(time.perf_counter() - started)
    runtime.engine.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(json.dumps(evaluator_speed(args.evaluations)), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            result: dict[str, Any] = {"part": "report_and_late_event", "backend": backend}
            for label, size in (("small", args.small), ("large", args.cycles)):
                url, drop = fresh_database(backend, Path(tmp))
                try:
                    fill_year(url, size)
                    result[f"report_s_{label}"] = round(report_time(url), 3)
                    result[f"late_event_s_{label}"] = round(late_event_time(url, Path(tmp)), 3)
                finally:
                    drop()
            result["cycles_small"], result["cycles_large"] = args.small, args.cycles
            result["late_event_large_over_small"] = round(
                result["late_event_s_large"] / result["late_event_s_small"], 2
            )
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
