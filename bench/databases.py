"""Shared by the benchmarks: throwaway databases and synthetic filler rows."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("CASEWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
_ADMIN = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def extract(revision: str, folder: Path) -> Path:
    """The casewatch package of a commit, unpacked into `folder/baseline`: the baseline a
    benchmark runs beside the checkout's own code in the same run."""
    target = folder / "baseline"
    target.mkdir()
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "-C", str(ROOT), "archive", revision, "casewatch"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def fresh_database(backend: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """A URL for an empty database and the function that removes it."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    import psycopg  # noqa: PLC0415 - only needed for the PostgreSQL half

    name = f"casewatch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{PG_SERVER}/{name}", drop


def synthetic_case(case_id: str, started: datetime, team: str | None) -> dict[str, Any]:
    """A `cases` row for a high-risk ASB case with no events: filler for size benchmarks."""
    return {
        "case_id": case_id,
        "case_type": "asb",
        "team": team,
        "caseworker": None,
        "status": "open",
        "opened_at": started,
        "closed_at": None,
        "risk_level": "high",
        "risk_matrix": "asb",
        "risk_score": None,
        "incident_count": 0,
        "event_count": 2,
        "last_event_at": started,
        "updated_at": started,
        "version": 1,
    }


POLICIES = ["asb-high-risk-conference", "asb-high-risk-reduction",
            "da-high-risk-idva-contact", "da-high-risk-marac-referral"]  # fmt: skip
_BATCH = 5_000


def fill_year(url: str, cycles: int, *, events: bool = False) -> None:
    """Synthetic cases, four cycles each, started across FY 2014/15: a year of a large
    partnership's work. With `events`, each case also gets the events and flags the
    partnership measures count (opening, assessment, incidents, a MARAC or IDVA referral,
    IDVA contact for some)."""
    from sqlalchemy import insert  # noqa: PLC0415 - keeps this module importable alone

    from casewatch.cases.db import create_db_engine  # noqa: PLC0415
    from casewatch.cases.tables import CaseRow, EventRow, ImportBatch  # noqa: PLC0415
    from casewatch.engine.fact_store import rebuild_facts  # noqa: PLC0415
    from casewatch.engine.store import refresh_rag_columns  # noqa: PLC0415
    from casewatch.engine.tables import CaseFlagRow, SlaCycleRow  # noqa: PLC0415
    from casewatch.migrations.schema import upgrade  # noqa: PLC0415

    engine = create_db_engine(url)
    upgrade(engine)
    rng = random.Random(11)
    year = datetime(2014, 4, 1, tzinfo=UTC)
    with engine.begin() as conn:
        batch_id = conn.execute(
            insert(ImportBatch)
            .values(source="bench", recorded_at=year, read=0, applied=0, duplicates=0)
            .returning(ImportBatch.id)
        ).scalar_one()
        for first in range(0, cycles // 4, _BATCH):
            cases, rows, event_rows, flags = [], [], [], []
            for number in range(first, min(first + _BATCH, cycles // 4)):
                case_id = f"S{number:08d}"
                started = year + timedelta(minutes=rng.randint(0, 365 * 24 * 60))
                case = synthetic_case(case_id, started, f"team-{number % 9}")
                case["caseworker"] = f"cw-{number % 40}"
                cases.append(case)
                rows += [synthetic_cycle(case_id, policy, started, rng) for policy in POLICIES]
                if events:
                    event_rows += synthetic_events(case_id, started, batch_id, number)
                    flags += synthetic_flags(case_id, started, number)
            conn.execute(insert(CaseRow), cases)
            conn.execute(insert(SlaCycleRow), rows)
            if event_rows:
                conn.execute(insert(EventRow), event_rows)
            if flags:
                conn.execute(insert(CaseFlagRow), flags)
        refresh_rag_columns(conn)  # what the engine writes beside the cycles
        if events:
            rebuild_facts(conn)  # what the import writes beside the events
        if conn.dialect.name == "postgresql":
            for table in ("sla_cycles", "cases", "events", "case_flags", "measure_facts"):
                conn.exec_driver_sql(f"ANALYZE {table}")
    engine.dispose()


def synthetic_cycle(
    case_id: str, policy: str, started: datetime, rng: random.Random
) -> dict[str, Any]:
    """A cycle that is met, breached (stopped two days late), excluded or still running."""
    outcome = rng.choice(["met", "met", "met", "breached", "excluded", None])
    stopped = {"met": 3, "breached": 7, "excluded": 2}.get(outcome or "")
    return {
        "case_id": case_id,
        "policy": policy,
        "cycle": 1,
        "policy_version": "x",
        "ruleset_version": "x",
        "working_days": False,
        "state": "running" if outcome is None else "stopped",
        "started_at": started,
        "due_at": started + timedelta(days=5),
        "warn_at": started + timedelta(days=4),
        "paused_since": None,
        "stopped_at": None if stopped is None else started + timedelta(days=stopped),
        "outcome": outcome,
        "breach_reason": rng.choice([None, "criminal case ongoing"])
        if outcome == "breached"
        else None,
        "exclusion_reason": "pj" if outcome == "excluded" else None,
        "start_event_id": f"{case_id}-s",
        "stop_event_id": None,
        "next_check_at": None,
    }


def synthetic_events(
    case_id: str, started: datetime, batch_id: int, number: int
) -> list[dict[str, Any]]:
    referral = "marac" if number % 2 else "idva"
    kinds: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        ("case_opened", {"case_type": "asb", "caseworker": f"cw-{number % 40}"}, None),
        ("risk_assessed", {"matrix": "asb", "level": "high"}, {"level": "high", "score": None}),
        ("incident_reported", {"category": "noise"}, None),
        ("referral_made", {"to": referral}, None),
    ]
    if referral == "idva" and number % 3:
        kinds.append(("idva_contact_made", {}, None))
    return [
        {
            "event_id": f"{case_id}-{line}",
            "case_id": case_id,
            "type": kind,
            "at": started + timedelta(hours=line),
            "import_id": batch_id,
            "line": line,
            "payload": json.dumps(payload),
            "derived": json.dumps(derived) if derived is not None else None,
            "content_hash": "x",
        }
        for line, (kind, payload, derived) in enumerate(kinds)
    ]


def synthetic_flags(case_id: str, started: datetime, number: int) -> list[dict[str, Any]]:
    names = ["repeat-victim"] if number % 5 == 0 else []
    names += ["community-trigger"] if number % 10 == 0 else []
    return [
        {
            "case_id": case_id,
            "flag": name,
            "raised_at": started + timedelta(hours=3),
            "event_id": f"{case_id}-2",
            "rule_id": name,
            "rule_version": "x",
        }
        for name in names
    ]


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


def run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    """Run a child process; return its wall time, peak RSS in MiB and stdout."""
    elapsed, _, rss, output = run_timed(args, env)
    return elapsed, rss, output


def run_timed(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, int, bytes]:
    """Run a child process; return its wall time, CPU time (user + system, with the
    children it waited for), peak RSS in MiB and stdout. On a shared machine the CPU time
    is the steadier figure: wall time also counts waiting for the other tenants."""
    start = time.perf_counter()
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:4]} failed: {output[-2000:]!r}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, output
