"""Real processes for the crash and restart tests: `casewatch` commands and servers, the
database fingerprint that shows nothing changed, and API clients that keep score.

Every process started here is started by the test that uses it and stopped (or killed)
by it; nothing here touches a process it did not start.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
from attrs import define, field
from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url

from casewatch.cases.db import create_db_engine
from casewatch.migrations.schema import target_metadata
from casewatch.service import accounts
from tests.cli import casewatch
from tests.databases import fingerprint as table_fingerprint
from tests.web import free_port

ROOT: Final = Path(__file__).resolve().parents[2]
SEED: Final = ROOT / "tests" / "scenarios" / "seed-2014-15.jsonl"
PASSWORD: Final = "reliability test password"
TEAM: Final = "rel-team"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child `casewatch`: none of this shell's CASEWATCH_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    return env | extra


def casewatch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "casewatch", *args]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """A `casewatch` command as its own process, to completion."""
    return subprocess.run(
        casewatch_argv(*args), capture_output=True, env=clean_env(), timeout=timeout, check=False
    )


def check_clean(url: str, case_ids: Sequence[str] = ()) -> dict[str, Any]:
    """`casewatch check` finds nothing different from a fresh replay. (Run in-process:
    it only reads, and a process would add a second of start-up to every call.)"""
    options = [part for case_id in case_ids for part in ("--case", case_id)]
    done = casewatch("check", *options, db=url)
    assert done.exit_code == 0, (done.stdout[-3000:], done.stderr[-2000:])
    report: dict[str, Any] = done.json()
    assert report["cases_with_differences"] == 0, report
    return report


# -- the database, seen from outside -------------------------------------------------------


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """The database's fingerprint (tests/databases.py), read over a fresh connection."""
    engine = create_db_engine(url)
    try:
        return table_fingerprint(engine)
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def event_ids(url: str) -> set[str]:
    return {row[0] for row in rows(url, "SELECT event_id FROM events")}


def assert_whole(url: str) -> None:
    """Nothing half-written: every case's event_count is its events, no cycle twice, and
    each API event has its audit row (written in the same transaction)."""
    miscounted = rows(
        url,
        "SELECT c.case_id, c.event_count, count(e.seq) FROM cases c "
        "LEFT JOIN events e ON e.case_id = c.case_id "
        "GROUP BY c.case_id, c.event_count HAVING c.event_count <> count(e.seq)",
    )
    assert miscounted == [], miscounted[:10]
    orphans = rows(
        url,
        "SELECT e.case_id FROM events e LEFT JOIN cases c ON c.case_id = e.case_id "
        "WHERE c.case_id IS NULL",
    )
    assert orphans == [], orphans[:10]
    repeated = rows(
        url,
        "SELECT case_id, policy, cycle, count(*) FROM sla_cycles "
        "GROUP BY case_id, policy, cycle HAVING count(*) > 1",
    )
    assert repeated == [], repeated[:10]
    audited = {
        detail["event_id"]
        for (detail,) in (
            (json.loads(text),)
            for (text,) in rows(
                url,
                "SELECT detail FROM audit_log WHERE action IN ('event.record', 'case.open')",
            )
        )
        if not detail["duplicate"]
    }
    posted = {
        row[0]
        for row in rows(
            url,
            "SELECT e.event_id FROM events e JOIN imports i ON i.id = e.import_id "
            "WHERE i.source LIKE 'api:%'",
        )
    }
    assert posted == audited, (sorted(posted - audited)[:5], sorted(audited - posted)[:5])


def add_api_user(url: str, username: str = "rel.manager") -> str:
    """A manager of TEAM with an API token; returns the token."""
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            accounts.add_user(
                conn,
                username=username,
                display_name=username,
                role="manager",
                agency="council",
                teams=[TEAM],
                password=PASSWORD,
                now=now,
            )
            return accounts.issue_token(conn, username, "reliability", now)
    finally:
        engine.dispose()


def no_other_sessions(url: str, timeout: float = 30) -> None:
    """PostgreSQL: wait until no other session is connected to this database (a killed
    client's backend ends once it notices), failing if one lingers."""
    deadline = time.monotonic() + timeout
    others: list[Any] = []
    while time.monotonic() < deadline:
        others = rows(
            url,
            "SELECT pid, state, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'",
        )
        if not others:
            return
        time.sleep(0.1)
    raise AssertionError(f"sessions still open {timeout} s after the client died: {others}")


def assert_unlocked(url: str) -> None:
    """Nothing holds a lock that would make the next command wait: every table can be
    locked exclusively at once, without waiting."""
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        assert database
        probe = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN EXCLUSIVE")  # fails at once if anyone holds a lock
            probe.execute("ROLLBACK")
            leftovers = probe.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE 'casewatch_import%'"
            ).fetchall()
        finally:
            probe.close()
        assert leftovers == [], f"staging tables left behind: {leftovers}"
        return
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
                for table in target_metadata().sorted_tables:
                    conn.exec_driver_sql(
                        f'LOCK TABLE "{table.name}" IN ACCESS EXCLUSIVE MODE NOWAIT'
                    )
            staged = conn.execute(
                text("SELECT relname FROM pg_class WHERE relname LIKE 'casewatch_import%'")
            ).all()
        assert list(staged) == [], f"staging tables left behind: {staged}"
    finally:
        engine.dispose()


def count_where(url: str, table: str, column: str, values: Sequence[str]) -> int:
    engine = create_db_engine(url)
    tab = target_metadata().tables[table]
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(tab).where(tab.c[column].in_(values))
                ).scalar_one()
            )
    finally:
        engine.dispose()


# -- the server ---------------------------------------------------------------------------


@define
class Server:
    """`casewatch serve` as a subprocess on a free port; its log goes to a file."""

    url: str
    folder: Path
    options: tuple[str, ...] = ()
    port: int = field(factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / f"serve-{self.port}-{self.starts}.log"

    def start(self) -> Server:
        self.starts += 1
        argv = casewatch_argv("serve", "--port", str(self.port), "--db", self.url, *self.options)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=self.folder, env=clean_env(), stdout=log, stderr=log
            )
        return self

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                response = httpx.get(f"{self.base}/readyz", timeout=2)
                last = response.json()
                if response.status_code == 200:
                    ready: dict[str, Any] = last
                    return ready
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        raise AssertionError(f"server not ready within {timeout} s: {last}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 30 s); the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode

    def logged(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted(self.folder.glob(f"serve-{self.port}-*.log"))
        )


@contextmanager
def serving(url: str, folder: Path, *options: str) -> Iterator[Server]:
    server = Server(url, folder, tuple(options)).start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


# -- API clients that keep score ----------------------------------------------------------


NOT_SENT: Final = 0  # the "status" of a post that could not even connect


@define
class Tally:
    """What each posted event id got back: a status code, None for a request sent that
    got no response (in flight when the server died), NOT_SENT if it never connected."""

    outcomes: dict[str, int | None] = field(factory=dict)
    answered_at: dict[str, float] = field(factory=dict)  # time.monotonic() of the answer
    bodies: dict[str, Any] = field(factory=dict)  # non-2xx bodies, for the assertions
    lock: threading.Lock = field(factory=threading.Lock)

    def record(self, event_id: str, status: int | None, body: Any = None) -> None:
        with self.lock:
            self.outcomes[event_id] = status
            self.answered_at[event_id] = time.monotonic()
            if body is not None:
                self.bodies[event_id] = body

    def ids(self, *, accepted: bool | None = None, answered: bool | None = None) -> set[str]:
        """Event ids by outcome; `accepted=False, answered=True` are the refused ones."""
        with self.lock:
            return {
                event_id
                for event_id, status in self.outcomes.items()
                if status != NOT_SENT
                and (accepted is None or (status is not None and 200 <= status < 300) == accepted)
                and (answered is None or (status is not None) == answered)
            }

    def not_sent(self) -> set[str]:
        with self.lock:
            return {e for e, status in self.outcomes.items() if status == NOT_SENT}

    def accepted_between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(
                1
                for event_id, status in self.outcomes.items()
                if status is not None
                and 200 <= status < 300
                and start <= self.answered_at[event_id] <= end
            )

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        with self.lock:
            for status in self.outcomes.values():
                counts[status] = counts.get(status, 0) + 1
        return counts


def post_event(
    client: httpx.Client, base: str, case_id: str, event: dict[str, Any], tally: Tally
) -> int | None:
    """POST one event; record its id's outcome (None when no response came back)."""
    try:
        response = client.post(f"{base}/api/v1/cases/{case_id}/events", json=event)
    except httpx.ConnectError:
        tally.record(event["event_id"], NOT_SENT)
        return None
    except httpx.HTTPError:  # sent, and the connection died before an answer came back
        tally.record(event["event_id"], None)
        return None
    body = None
    if not 200 <= response.status_code < 300:
        try:
            body = response.json()
        except ValueError:
            body = {"not json": response.text[:500]}
    tally.record(event["event_id"], response.status_code, body)
    return response.status_code


def api_event(number: int, prefix: str, moment: str) -> dict[str, Any]:
    """A varied event that changes a case's derivation: risk (cycles start and stop),
    conferences (a cycle met), incidents (flags), contacts."""
    kinds: list[dict[str, Any]] = [
        {"type": "incident_reported", "category": "noise"},
        {"type": "risk_assessed", "matrix": "asb", "level": ("high", "medium", "low")[number % 3]},
        {"type": "case_conference_held", "agencies": ["police", "housing"]},
        {"type": "contact_attempted", "method": "call"},
    ]
    return {"event_id": f"api-{prefix}-{number}", "at": moment, **kinds[number % len(kinds)]}


def assert_clean_error(body: Any) -> None:
    """An error answer is the API's JSON error body, with no stack trace in it."""
    assert isinstance(body, dict), body
    assert set(body) == {"status_code", "detail", "errors"}, body
    assert "Traceback" not in json.dumps(body), body


def hold_until_another_waits(conn: Connection, url: str, other: threading.Thread) -> None:
    """Inside a writer's transaction: start the other writer, return once it waits on a
    lock this one holds."""
    mine = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    other.start()
    deadline = time.monotonic() + 30
    while not rows(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> :mine",
        mine=mine,
    ):
        assert time.monotonic() < deadline, "the other writer never waited"
        time.sleep(0.05)
