"""`casewatch import` killed with SIGKILL part-way through a FILE_EVENTS-line file, on
SQLite and PostgreSQL, at each of KILL_POINTS (KILL_RUNS kills per test run): every table
is exactly as before (row counts and a hash of every row), nothing is left locked or
staged, `casewatch check` is clean, and the same import then applies whole.

The kills are timed by the import's own progress line, which it writes when stderr is
a terminal: the test gives it a pseudo-terminal and reads `read: N`, `applied: N` and
`cases: N` as they come. After each kill the next import of the same file runs past the
point where the previous one died; the last runs to completion.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

from tests.cli import casewatch
from tests.reliability.processes import (
    ROOT,
    SEED,
    assert_unlocked,
    casewatch_argv,
    check_clean,
    clean_env,
    fingerprint,
    no_other_sessions,
    scalar,
)

FILE_EVENTS: Final = 50_000  # lines in the file killed mid-import
FILE_CASES: Final = 5_000  # ten events a case, as bench/import.py makes them
# (name, phase, count): SIGKILL as soon as the progress line shows phase >= count.
KILL_POINTS: Final = (
    ("staging, early", "read", FILE_EVENTS // 10),  # COPY / executemany into staging
    ("staging, late", "read", FILE_EVENTS * 9 // 10),
    ("appended", "applied", 1),  # every event appended, nothing projected or committed
    ("projection", "cases", FILE_CASES // 2),  # half the cases re-projected and re-derived
)
BACKENDS: Final = 2
KILL_RUNS: Final = len(KILL_POINTS) * BACKENDS  # SIGKILLs per test run (8)
CHECKED_SAMPLE: Final = 50  # imported cases `casewatch check` replays after the re-run
PROGRESS: Final = re.compile(rb"\r(\w+): ([\d,]+)")


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FILE_EVENTS events over FILE_CASES cases, from the benchmarks' generator."""
    path = tmp_path_factory.mktemp("crash-import") / "events.jsonl"
    spec = importlib.util.spec_from_file_location("bench_data", ROOT / "bench" / "databases.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_events(path, FILE_EVENTS, FILE_CASES)
    with path.open("rb") as lines:
        assert sum(1 for _ in lines) == FILE_EVENTS
    return path


def import_until(path: Path, url: str, reached: Callable[[str, int], bool]) -> dict[str, int]:
    """Run `casewatch import` with its stderr on a pseudo-terminal; SIGKILL it the moment
    its progress line satisfies `reached`. Returns the furthest count seen per phase."""
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        casewatch_argv("import", str(path), "--db", url),
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    seen: dict[str, int] = {}
    pending = b""
    deadline = time.monotonic() + 300
    try:
        while child.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if not ready:
                continue
            try:
                pending += os.read(controller, 65536)
            except OSError:  # the child closed the terminal (it exited)
                break
            for match in PROGRESS.finditer(pending):
                phase, count = match.group(1).decode(), int(match.group(2).replace(b",", b""))
                seen[phase] = max(seen.get(phase, 0), count)
                if reached(phase, count):
                    child.send_signal(signal.SIGKILL)
                    break
            else:
                pending = pending[pending.rfind(b"\r") :] if b"\r" in pending else pending
                continue
            break
    finally:
        if child.poll() is None and time.monotonic() >= deadline:
            child.kill()
        out, _ = child.communicate(timeout=60)
        os.close(controller)
    assert child.returncode == -signal.SIGKILL, (
        f"the import was not killed (exit {child.returncode}, progress {seen}): {out[-500:]!r}"
    )
    assert out == b"", "a killed import printed a summary"
    return seen


def _reaching(phase: str, count: int) -> Callable[[str, int], bool]:
    return lambda seen_phase, seen_count: seen_phase == phase and seen_count >= count


def test_import_killed_at_any_point_leaves_the_database_as_it_was(
    db_url: str, large_file: Path
) -> None:
    """KILL_POINTS SIGKILLs of a FILE_EVENTS-line import; each leaves no trace; the
    same file then imports whole."""
    seeded = casewatch("import", str(SEED), db=db_url)  # in-process: set-up, not under test
    assert seeded.exit_code == 0, seeded.stdout[-2000:]
    before = fingerprint(db_url)
    assert before["events"][0] > 0
    postgres = db_url.startswith("postgresql")

    for name, phase, count in KILL_POINTS:
        seen = import_until(large_file, db_url, _reaching(phase, count))
        assert seen.get(phase, 0) >= count, (name, seen)
        if postgres:
            no_other_sessions(db_url)  # the killed client's server session has ended
        assert_unlocked(db_url)  # no lock, no staging table left for the next command
        after = fingerprint(db_url)
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        assert changed == {}, f"killed at {name} ({seen}): the database changed: {changed}"
        check_clean(db_url)

    # The same file, once more, to the end: nothing in the way, everything applied.
    done = subprocess.run(
        casewatch_argv("import", str(large_file), "--db", db_url),
        env=clean_env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary == {
        "read": FILE_EVENTS, "applied": FILE_EVENTS, "duplicates": 0, "rejected": 0, "errors": [],
    }  # fmt: skip
    assert scalar(db_url, "SELECT count(*) FROM events") == before["events"][0] + FILE_EVENTS
    assert scalar(db_url, "SELECT count(*) FROM cases") == before["cases"][0] + FILE_CASES
    assert scalar(db_url, "SELECT count(*) FROM imports") == before["imports"][0] + 1
    assert_unlocked(db_url)
    step = FILE_CASES // CHECKED_SAMPLE
    sample = [f"B-{number:07d}" for number in range(0, FILE_CASES, step)]
    assert check_clean(db_url, sample)["cases_checked"] == CHECKED_SAMPLE
