"""HTTP load on loopback: case view and event post at a target of 500 requests/s, p95 < 100 ms.

    .venv/bin/python bench/http_load.py --cases 100000 --duration 20 --workers 1,2

For each backend: a throwaway database gets N real cases through `casewatch import` (four
events each: opened in one of a few teams with a victim, assessed high on the ASB matrix
so its SLA cycles run, an incident, a contact attempt), a caseworker of those teams and
an API token from `casewatch users`; then `casewatch serve --no-scheduler --workers N`
(for each N of --workers) takes wrk's load on 127.0.0.1.
The cases are imported rather than made by databases.fill_year, whose filler events
cannot be replayed, and a case view replays its case's events. Two scenarios:

- view: GET /api/v1/cases/{id} of a random case;
- post: POST /api/v1/cases/{id}/events of `{"type": "contact_attempted", "method": "call"}`
  to a random case (the server fills in event_id and at, so every request adds an event).

Each scenario runs --duration seconds with --connections connections on --threads wrk
threads, after a --warmup of the view scenario that is not reported. The target is met
when 2xx responses/s >= 500, p95 < 100 ms and nothing failed (non-2xx or socket error).
Prints a table (and writes JSON with --json PATH); drops its databases at the end.
wrk is Debian's `wrk` package, installed with apt-get when missing and run as root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from databases import fresh_database

CASEWATCH: Final = Path(sys.executable).with_name("casewatch")
TARGET_RPS: Final = 500
TARGET_P95_MS: Final = 100
USERNAME: Final = "bench.caseworker"
PASSWORD: Final = "bench-password-not-secret"  # noqa: S105 - a throwaway database's user
POST_BODY: Final = json.dumps({"type": "contact_attempted", "method": "call"})
MARKER: Final = "CASEWATCH_WRK "

# One script for both scenarios; wrk gives each thread its own Lua state, so status
# counts are kept per thread and summed in done(), which runs once, in the main state.
LUA: Final = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

function init(args)
  cases = tonumber(args[1])
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  scenario = args[3]
  if scenario == "post" then
    wrk.method = "POST"
    wrk.body = args[4]
    wrk.headers["Content-Type"] = "application/json"
  end
  math.randomseed(os.time() * 1000 + thread_number)
  statuses = {}
end

function request()
  local path = string.format("/api/v1/cases/H-%07d", math.random(0, cases - 1))
  if scenario == "post" then
    path = path .. "/events"
  end
  return wrk.format(nil, path)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  local totals = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      totals[code] = (totals[code] or 0) + count
    end
  end
  for code, count in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'CASEWATCH_WRK {"requests": %d, "duration_us": %d, "statuses": {%s}, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


# -- the database ---------------------------------------------------------------------------


def write_cases(path: Path, cases: int, teams: int) -> None:
    """Four events a case, opened across FY 2014/15, in teams bench-0 … bench-{teams-1}."""
    year = datetime(2014, 4, 1, 9, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for number in range(cases):
            case_id = f"H-{number:07d}"
            opened = year + timedelta(minutes=(number * 5_237) % (360 * 24 * 60))
            lines: list[dict[str, Any]] = [
                {
                    "type": "case_opened",
                    "case_type": "asb",
                    "team": f"bench-{number % teams}",
                    "victim": {"name": f"Victim {number}"},
                },
                {"type": "risk_assessed", "matrix": "asb", "level": "high"},
                {"type": "incident_reported", "category": "noise", "police_attended": True},
                {"type": "contact_attempted", "method": "visit", "outcome": "spoke"},
            ]
            for index, body in enumerate(lines):
                event = {
                    "event_id": f"{case_id}-{index}",
                    "case_id": case_id,
                    "at": (opened + timedelta(hours=index)).isoformat(),
                    **body,
                }
                out.write(json.dumps(event) + "\n")


def casewatch(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the real command line against the database; its stdout, or stop with stderr."""
    done = subprocess.run(
        [str(CASEWATCH), *args, "--db", url],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"casewatch {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare(url: str, events: Path, teams: int) -> tuple[str, float]:
    """Migrate, import the cases, add the caseworker; the API token and import seconds."""
    casewatch(url, "init")
    started = time.perf_counter()
    summary = json.loads(casewatch(url, "import", str(events)))
    imported = time.perf_counter() - started
    if summary.get("rejected"):
        raise SystemExit(f"the bench cases were rejected: {summary.get('errors', [])[:3]}")
    if url.startswith("postgresql"):
        analyse(url)  # what autovacuum does within a minute of a real bulk import
    team_options = [arg for n in range(teams) for arg in ("--team", f"bench-{n}")]
    casewatch(
        url,
        "users",
        "add",
        USERNAME,
        "--role",
        "caseworker",
        "--agency",
        "council",
        *team_options,
        env={"CASEWATCH_PASSWORD": PASSWORD},
    )
    token: str = json.loads(casewatch(url, "users", "token", USERNAME, "--name", "bench"))["token"]
    return token, imported


def analyse(url: str) -> None:
    from casewatch.cases.db import create_db_engine  # noqa: PLC0415 - PostgreSQL only

    engine = create_db_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(url: str, log: Path, workers: int) -> Iterator[str]:
    """`casewatch serve --no-scheduler` on a free loopback port, ready; stopped after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(CASEWATCH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-scheduler", "--workers", str(workers), "--db", url]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(base, server, log)
            yield base
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"casewatch serve exited with {server.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"casewatch serve was not ready within 60 s:\n{tail(log)}")


def tail(log: Path, size: int = 3000) -> str:
    return log.read_bytes()[-size:].decode(errors="replace")


def check_api(base: str, token: str) -> None:
    """One view and one post before the load, so a broken API fails in words, not in
    a run of errors."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for method, path, body, status in [
        ("GET", "/api/v1/cases/H-0000000", None, 200),
        ("POST", "/api/v1/cases/H-0000000/events", POST_BODY.encode(), 201),
    ]:
        request = urllib.request.Request(base + path, body, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                got, text = answer.status, answer.read()[:500]
        except urllib.error.HTTPError as exc:
            got, text = exc.code, exc.read()[:500]
        if got != status:
            raise SystemExit(f"{method} {path} answered {got}, not {status}: {text!r}")


# -- the load -------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() == 0 and apt:
        print("http: installing Debian's wrk", file=sys.stderr, flush=True)
        install = [apt, "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run([apt, "update", "-qq"], capture_output=True, check=True)
            subprocess.run(install, capture_output=True, check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("http: needs wrk (the load generator): run 'sudo apt-get install wrk'")
    return found


def run_wrk(
    wrk: str,
    base: str,
    script: Path,
    *,
    scenario: str,
    token: str,
    seconds: int,
    options: argparse.Namespace,
) -> dict[str, Any]:
    """One wrk run of a scenario; the figures its done() printed."""
    command = [
        wrk,
        f"--threads={options.threads}",
        f"--connections={options.connections}",
        f"--duration={seconds}s",
        f"--timeout={options.timeout}s",
        f"--script={script}",
        base,
        "--",
        str(options.cases),
        token,
        scenario,
        POST_BODY,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return figures


def summarise(backend: str, scenario: str, raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    statuses = {code: raw["statuses"][code] for code in sorted(raw["statuses"])}
    ok = sum(count for code, count in statuses.items() if code.startswith("2"))
    # Every response wrk read is counted in requests; a request that failed on the socket
    # (no connection, a read or write error, no answer within --timeout) is not.
    errors = raw["requests"] - ok + sum(raw["socket_errors"].values())
    attempts = raw["requests"] + sum(raw["socket_errors"].values())
    p95 = raw["p95_us"] / 1000
    ok_per_s = ok / seconds
    return {
        "backend": backend,
        "scenario": scenario,
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok_per_s": round(ok_per_s, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
        "statuses": statuses,
        "socket_errors": raw["socket_errors"],
        "errors": errors,
        "error_rate": round(errors / attempts, 4) if attempts else None,
        "target_met": ok_per_s >= TARGET_RPS and p95 < TARGET_P95_MS and errors == 0,
    }


def bench(
    backend: str, options: argparse.Namespace, folder: Path, events: Path, wrk: str
) -> list[dict[str, Any]]:
    url, drop = fresh_database(backend, folder)
    try:
        print(f"http: {backend}: importing {options.cases:,} cases", file=sys.stderr, flush=True)
        token, imported = prepare(url, events, options.teams)
        script = folder / "casewatch.lua"
        script.write_text(LUA, encoding="utf-8")
        results = []
        for workers in (int(w) for w in options.workers.split(",")):
            log = folder / f"serve-{backend}-{workers}.log"
            with serving(url, log, workers) as base:
                check_api(base, token)
                if options.warmup:
                    run_wrk(
                        wrk,
                        base,
                        script,
                        scenario="view",
                        token=token,
                        seconds=options.warmup,
                        options=options,
                    )
                for scenario in ("view", "post"):
                    print(f"http: {backend}: {workers} worker(s): {scenario}", file=sys.stderr)
                    raw = run_wrk(
                        wrk,
                        base,
                        script,
                        scenario=scenario,
                        token=token,
                        seconds=options.duration,
                        options=options,
                    )
                    results.append(
                        summarise(backend, scenario, raw)
                        | {"workers": workers, "cases": options.cases,
                           "import_s": round(imported, 1)}
                    )  # fmt: skip
            if log.stat().st_size:
                print(f"http: {backend}: the server said:\n{tail(log, 1500)}", file=sys.stderr)
        return results
    finally:
        drop()


def table(results: list[dict[str, Any]]) -> str:
    head = ["backend", "workers", "scenario", "req/s", "2xx/s", "p50 ms", "p95 ms", "p99 ms",
            "max ms", "errors", "error rate", "target"]  # fmt: skip
    rows = [
        [
            r["backend"],
            str(r["workers"]),
            r["scenario"],
            f"{r['requests_per_s']:,.0f}",
            f"{r['ok_per_s']:,.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            str(r["errors"]),
            f"{100 * (r['error_rate'] or 0):.2f}%",
            "met" if r["target_met"] else "NOT met",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [head, *rows]]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--teams", type=int, default=3, help="the cases' teams (all the user's)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of views, not reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=5, help="seconds before wrk gives up")
    parser.add_argument("--workers", default="1", help="server processes, e.g. 1,2")
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    wrk = ensure_wrk()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = folder / "cases.jsonl"
        write_cases(events, options.cases, options.teams)
        for backend in options.backends.split(","):
            results += bench(backend, options, folder, events, wrk)
    print(
        f"{options.cases:,} cases; {options.connections} connections, {options.threads} wrk "
        f"threads, {options.duration} s a scenario; `casewatch serve --workers` "
        f"{options.workers}; target >= {TARGET_RPS} 2xx/s, p95 < {TARGET_P95_MS} ms, no errors"
    )
    print(table(results))
    if options.json:
        document = {
            "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "cases": options.cases,
            "duration_s": options.duration,
            "connections": options.connections,
            "threads": options.threads,
            "target": {"ok_per_s": TARGET_RPS, "p95_ms": TARGET_P95_MS, "errors": 0},
            "results": results,
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
