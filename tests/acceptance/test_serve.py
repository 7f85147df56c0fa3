"""`casewatch serve` and `casewatch users` as real processes: the README's main job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from casewatch.engine.evaluators import durable_loads
from tests.web import free_port

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "scenarios" / "seed-2014-15.jsonl"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    result = subprocess.run(
        [sys.executable, "-m", "casewatch", *args],
        cwd=cwd,
        capture_output=True,
        env=base | (env or {}),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_serve_answers_signs_in_and_stops_cleanly(tmp_path: Path) -> None:
    """Serve with the scheduler: ready once the first scan ran, a token works, SIGTERM stops it."""
    cli("import", str(SEED), cwd=tmp_path)
    cli(
        "users", "add", "mgr", "--role", "manager", "--agency", "council",
        "--team", "asb-north", cwd=tmp_path, env={"CASEWATCH_PASSWORD": "twelve chars ok"},
    )  # fmt: skip
    token = cli("users", "token", "mgr", "--name", "test", cwd=tmp_path)["token"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = _wait_ready(base, server)
        matcher = "durable" if durable_loads() else "reference"
        assert ready == {
            "status": "ready", "database": "reachable", "schema": "current", "scheduler": "alive",
            "matcher": matcher,
        }  # fmt: skip
        headers = {"authorization": f"Bearer {token}"}
        for case_id in ("SEED-02", "SEED-04", "NOPE"):  # views that hold victim details
            httpx.get(f"{base}/api/v1/cases/{case_id}", headers=headers, timeout=10)
        alerts = httpx.get(f"{base}/api/v1/alerts", headers=headers, timeout=10)
        assert alerts.status_code == 200
        assert alerts.json(), "the in-process scan recorded the seed's alerts"
        page = httpx.get(f"{base}/login", timeout=10)
        assert "Sign in" in page.text
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    # uvicorn finishes shutting down, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
    assert b'"scheduler_stopped"' in err
    started = [json.loads(line) for line in err.splitlines() if b'"serving"' in line]
    assert started and started[0]["matcher"] == matcher, "the startup log names the matcher"
    assert b"Traceback" not in err
    victims = {
        detail
        for line in SEED.read_text(encoding="utf-8").splitlines()
        for detail in json.loads(line).get("victim", {}).values()
    }
    assert victims
    assert not {v for v in victims if v.encode() in err}, "victim details in the server's log"


def test_serve_with_several_worker_processes(tmp_path: Path) -> None:
    """--workers 2: two processes answer on one port, each ready; SIGTERM stops them all."""
    cli("init", cwd=tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "serve", "--port", str(port), "--workers", "2",
         "--no-scheduler"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}", server, scheduler="not in this process")
        assert ready["status"] == "ready"
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2, "uvicorn's supervisor runs the two worker processes"
        for _ in range(20):  # answered by whichever worker takes the connection
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
    assert b"Traceback" not in err


def _wait_ready(
    base: str, server: subprocess.Popen[bytes], scheduler: str = "alive"
) -> dict[str, str]:
    deadline = time.monotonic() + 60
    last: dict[str, str] = {}
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            last = response.json()
            if response.status_code == 200 and last["scheduler"] == scheduler:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready within 60 s: {last}")
