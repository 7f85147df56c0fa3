"""PostgreSQL restarted under load: `casewatch serve` and a `casewatch worker` keep running
and carry on by themselves once the database is back.

The test starts a PRIVATE PostgreSQL cluster (initdb into a temporary folder, its own
port and socket folder), so the shared server the rest of the suite uses is never
touched. While the cluster is down every request is answered 503 with the API's JSON
error body (no stack trace) and /readyz says 503, database unreachable; within
RECOVERY_SECONDS of the cluster coming back the same server process serves reads and
posts again, the worker records an alert that fell due, no accepted post is missing and
`casewatch check` is clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
import pytest

from tests.cli import casewatch
from tests.reliability.processes import (
    Server,
    Tally,
    add_api_user,
    api_event,
    assert_clean_error,
    assert_whole,
    casewatch_argv,
    check_clean,
    clean_env,
    event_ids,
    post_event,
    rows,
)
from tests.reliability.test_crash_server import open_cases
from tests.web import free_port

OUTAGE_SECONDS: Final = 3  # the cluster stays down this long
RECOVERY_SECONDS: Final = 10  # the same server and worker must work again within this
CLIENTS: Final = 4  # two posting events, two reading cases


def _postgres_bin() -> Path:
    """The PostgreSQL server binaries; failing (not skipping) when there are none."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, Path(found))
    if not candidates:
        pytest.fail(
            "initdb and pg_ctl were not found (looked in /usr/lib/postgresql/*/bin and PATH): "
            "the PostgreSQL restart test needs the server binaries and is not skipped"
        )
    return candidates[0].parent


class PrivateCluster:
    """A throwaway PostgreSQL cluster: its own data folder, port and socket folder.

    As root, initdb and pg_ctl run as the postgres user (the server refuses root)."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="casewatch-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/casewatch"
        try:
            if self.as_postgres:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
            self.start()
            admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
                admin.execute("CREATE DATABASE casewatch")
        except BaseException:
            self.remove()
            raise

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bin / tool), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "start", "-D", str(self.data), "-w", "-t", "60",
                  "-l", str(self.folder / "server.log"), "-o", options)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-w", "-t", "60", "-m", mode)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    private = PrivateCluster()
    try:
        yield private
    finally:
        private.remove()


class Client(threading.Thread):
    """Posts events (or reads cases) in a loop, noting when each answer came and what."""

    def __init__(self, base: str, token: str, case_ids: list[str], name: str, *, posts: bool):
        super().__init__(name=name, daemon=True)
        self.base, self.case_ids, self.posts = base, case_ids, posts
        self.headers = {"authorization": f"Bearer {token}"}
        self.tally = Tally()  # posts: event id -> status
        self.answers: list[tuple[float, int | None, Any]] = []  # (when, status, body)
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(headers=self.headers, timeout=30) as client:
            number = 0
            while not self.stop.is_set():
                number += 1
                case_id = self.case_ids[number % len(self.case_ids)]
                status: int | None
                body: Any = None
                if self.posts:
                    event = api_event(number, self.name, f"2014-06-{1 + number % 28:02d}T10:00:00Z")
                    status = post_event(client, self.base, case_id, event, self.tally)
                    body = self.tally.bodies.get(event["event_id"])
                else:
                    path = f"/api/v1/cases/{case_id}" if number % 2 else "/api/v1/cases"
                    try:
                        response = client.get(self.base + path)
                        status = response.status_code
                        body = None if status == 200 else response.json()
                    except httpx.HTTPError as exc:
                        status, body = None, repr(exc)
                self.answers.append((time.monotonic(), status, body))
                time.sleep(0.02)


def _readyz(base: str) -> tuple[int, Any]:
    response = httpx.get(f"{base}/readyz", timeout=10)
    return response.status_code, response.json()


def test_server_and_worker_carry_on_after_postgres_restarts(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    url = cluster.url
    assert casewatch("init", db=url).exit_code == 0
    case_ids = open_cases(url, tmp_path, "P", 8)
    token = add_api_user(url)
    server = Server(url, tmp_path, ("--no-scheduler",)).start()
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        casewatch_argv("worker", "--scan-every", "0.5", "--relay-every", "0.5", "--db", url),
        env=clean_env(),
        stdout=worker_log,
        stderr=worker_log,
    )
    clients: list[Client] = []
    try:
        server.wait_ready()
        assert server.process is not None
        clients = [
            Client(server.base, token, case_ids, f"pg{n}", posts=n % 2 == 0) for n in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(1.5)
        assert all(c.answers and c.answers[-1][1] in (200, 201) for c in clients), [
            c.answers[-3:] for c in clients
        ]

        # Down: every answer is a clean 503, /readyz included.
        cluster.stop("fast")
        down_at = time.monotonic()
        readiness = []
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            readiness.append(_readyz(server.base))
            time.sleep(0.2)
        assert readiness
        assert all(status == 503 for status, _ in readiness), readiness
        assert {body["database"] for _, body in readiness} == {"unreachable"}, readiness
        restarting_at = time.monotonic()
        cluster.start()
        up_at = time.monotonic()
        assert server.process.poll() is None, "the server died with the database"

        # Back: the same server process answers reads and posts again, by itself.
        while True:
            status, body = _readyz(server.base)
            view = httpx.get(
                f"{server.base}/api/v1/cases/{case_ids[0]}",
                headers={"authorization": f"Bearer {token}"},
                timeout=10,
            )
            if status == 200 and view.status_code == 200:
                break
            assert time.monotonic() - up_at < RECOVERY_SECONDS, (status, body, view.text[:300])
            time.sleep(0.2)
        due = _post_a_due_case(server.base, token)
        recovered_at = time.monotonic()
        assert recovered_at - up_at < RECOVERY_SECONDS
        time.sleep(1.5)  # more load after recovery
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join(timeout=60)

        # The worker survived and carries on: it records the alert that fell due.
        while not rows(url, "SELECT id FROM alerts WHERE case_id = :c", c=due):
            assert worker.poll() is None, "the worker died with the database"
            assert time.monotonic() - up_at < RECOVERY_SECONDS, "the worker stopped ticking"
            time.sleep(0.2)
    finally:
        for client in clients:
            client.stop.set()
        server.stop()
        if worker.poll() is None:
            worker.terminate()
        worker.wait(timeout=30)
        worker_log.close()

    during = [
        (status, body)
        for client in clients
        for when, status, body in client.answers
        if down_at <= when <= restarting_at
    ]
    assert during, "no request was made while the database was down"
    assert {status for status, _ in during} == {503}, during[:5]
    for _, body in during:
        assert_clean_error(body)
        assert body["detail"] == "the database is unavailable at the moment; try again shortly"
    after = [
        status
        for client in clients
        for when, status, _ in client.answers
        if when > recovered_at + 0.5
    ]
    assert after, "no load after the restart"
    assert set(after) <= {200, 201}, after

    stored = event_ids(url)
    accepted = set().union(*(c.tally.ids(accepted=True) for c in clients if c.posts))
    assert accepted - stored == set(), "accepted before, during or after the outage, but lost"
    assert_whole(url)
    check_clean(url)
    assert server.process is not None
    assert server.process.returncode in (0, -15), server.logged()[-2000:]
    assert "Traceback" not in server.logged()
    assert worker.returncode in (0, -15)
    worker_said = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in worker_said
    assert "sla_scan_failed" in worker_said, "the worker did not notice the outage"


def _post_a_due_case(base: str, token: str) -> str:
    """Open a high-risk ASB case 4.5 days ago: its conference warning is due now."""
    started = datetime.now(UTC) - timedelta(days=4, hours=12)
    headers = {"authorization": f"Bearer {token}"}
    opened = httpx.post(
        f"{base}/api/v1/cases",
        json={"case_type": "asb", "team": "rel-team", "at": started.isoformat()},
        headers=headers,
        timeout=30,
    )
    assert opened.status_code == 201, opened.text[:500]
    case_id: str = opened.json()["case_id"]
    assessed = httpx.post(
        f"{base}/api/v1/cases/{case_id}/events",
        json={"type": "risk_assessed", "matrix": "asb", "level": "high",
              "at": started.isoformat()},
        headers=headers,
        timeout=30,
    )  # fmt: skip
    assert assessed.status_code == 201, assessed.text[:500]
    return case_id
