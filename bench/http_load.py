"""HTTP load on loopback: casewatch's case view, event post, inbox and team page, each
beside a baseline measured in the same run.

    .venv/bin/python bench/http_load.py --cases 100000 --duration 20 --workers 1,2

For each backend: a throwaway database gets N real cases through `casewatch import` (four
events each: opened in one of a few teams with a victim, assessed high on the ASB matrix
so its SLA cycles run, an incident, a contact attempt), a caseworker and a manager of
those teams with API tokens (and a browser session for the manager), and --alerts alerts
(default two a case) inserted in bulk from the stored cycles, one level each, spread over
the ladder (warning, breach, escalation-1, escalation-2) and so over their recipients
(notifications.yaml), a fifth of them acknowledged: a manager's role filter matters. Then
`casewatch serve --no-scheduler --workers N` (for each N of --workers) takes wrk's load
on 127.0.0.1. The cases are imported rather than made by databases.fill_year, whose
filler events cannot be replayed, and a case view replays its case's events. Scenarios
(--scenarios):

- view: GET /api/v1/cases/{id} of a random case, as the caseworker;
- post: POST /api/v1/cases/{id}/events of `{"type": "contact_attempted", "method": "call"}`
  to a random case (the server fills in event_id and at, so every request adds an event);
- inbox: GET /api/v1/alerts, the manager's first page of alerts to acknowledge;
- team: GET /team, the manager's team page (its session cookie).

The baseline (bench/http_baseline.py) is a minimal Litestar app on the same uvicorn with
the same worker count, whose one handler makes three round trips to the same database in
one transaction (the case row, its events, an INSERT rolled back). It is loaded with the
same wrk settings before the first scenario and after each, and every scenario is given
as a ratio to the mean of the baseline runs either side of it, so the machine's load at
the time is in both. After each casewatch scenario the script waits until the server has
answered the requests wrk gave up on (a quick /readyz), so that work does not fall into
the next baseline run. Goals: view >= 500 2xx/s, p95 <= 50 ms, >= 0.5x baseline; post
>= 250 2xx/s, p95 <= 100 ms, >= 0.25x baseline; inbox and team p95 <= 100 ms; none of
them with any failed request (non-2xx or socket error).

Each scenario runs --duration seconds with --connections connections on --threads wrk
threads, after a --warmup of the view scenario that is not reported. Prints a table (and
writes JSON with --json PATH); drops its databases at the end. wrk is Debian's `wrk`
package, installed with apt-get when missing and run as root.
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
BENCH: Final = Path(__file__).resolve().parent
USERNAME: Final = "bench.caseworker"
MANAGER: Final = "bench.manager"
PASSWORD: Final = "bench-password-not-secret"  # noqa: S105 - a throwaway database's user
POST_BODY: Final = json.dumps({"type": "contact_attempted", "method": "call"})
MARKER: Final = "CASEWATCH_WRK "
SCENARIOS: Final = ("view", "post", "inbox", "team")
BASELINE: Final = "baseline"


# What each scenario must reach: 2xx/s, p95 ms, times the in-run baseline's 2xx/s.
GOALS: Final[dict[str, tuple[float | None, float, float | None]]] = {
    "view": (500, 50, 0.5),
    "post": (250, 100, 0.25),
    "inbox": (None, 100, None),
    "team": (None, 100, None),
}

# One script for every scenario; wrk gives each thread its own Lua state, so status
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
  scenario = args[3]
  if scenario == "team" then
    wrk.headers["Cookie"] = "casewatch_session=" .. args[5]
  else
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  if scenario == "post" then
    wrk.method = "POST"
    wrk.body = args[4]
    wrk.headers["Content-Type"] = "application/json"
  end
  math.randomseed(os.time() * 1000 + thread_number)
  statuses = {}
end

function request()
  if scenario == "inbox" then
    return wrk.format(nil, "/api/v1/alerts")
  elseif scenario == "team" then
    return wrk.format(nil, "/team")
  end
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


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"http: {what} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def prepare(url: str, events: Path, options: argparse.Namespace) -> dict[str, Any]:
    """Migrate, import the cases, add the people and the alerts: what the load needs."""
    casewatch(url, "init")
    started = time.perf_counter()
    summary = json.loads(casewatch(url, "import", str(events)))
    imported = time.perf_counter() - started
    if summary.get("rejected"):
        raise SystemExit(f"the bench cases were rejected: {summary.get('errors', [])[:3]}")
    team_options = [arg for n in range(options.teams) for arg in ("--team", f"bench-{n}")]
    tokens = {}
    for username, role in ((USERNAME, "caseworker"), (MANAGER, "manager")):
        casewatch(url, "users", "add", username, "--role", role, "--agency", "council",
                  *team_options, env={"CASEWATCH_PASSWORD": PASSWORD})  # fmt: skip
        answer = json.loads(casewatch(url, "users", "token", username, "--name", "bench"))
        tokens[username] = answer["token"]
    with timed(f"adding {options.alerts:,} alerts"):
        session = add_alerts(url, options.alerts)
    analyse(url)  # what autovacuum does within a minute of a bulk load (see analyse)
    return {
        "token": tokens[USERNAME],
        "manager_token": tokens[MANAGER],
        "session": session,
        "import_s": round(imported, 1),
    }


def add_alerts(url: str, count: int) -> str:
    """`count` alerts from the stored cycles (one level each, spread over the ladder and
    its recipients), a fifth acknowledged by the manager; the manager's session token."""
    from sqlalchemy import case, func, insert, literal, select  # noqa: PLC0415

    from casewatch.cases.db import UTCDateTime, create_db_engine  # noqa: PLC0415
    from casewatch.engine.tables import AlertRow, SlaCycleRow  # noqa: PLC0415
    from casewatch.service import accounts  # noqa: PLC0415
    from casewatch.service.tables import AlertAcknowledgementRow, UserRow  # noqa: PLC0415

    recipients = {
        "warning": ["caseworker"],
        "breach": ["caseworker", "team_manager"],
        "escalation-1": ["service_manager"],
        "escalation-2": ["psg_chair"],
    }
    levels = list(recipients)
    now = datetime.now(UTC)
    s = SlaCycleRow
    pick = s.id % len(levels)
    level = case(*((pick == n, name) for n, name in enumerate(levels)))
    addressed = case(*((pick == n, json.dumps(recipients[name])) for n, name in enumerate(levels)))
    cycles = (
        select(
            s.case_id,
            s.policy,
            s.started_at,
            s.cycle,
            level,
            case((pick == 0, s.warn_at), else_=s.due_at),
            literal(now, UTCDateTime()),
            addressed,
            literal(True),
            literal(False),
        )
        .order_by(s.id)
        .limit(count)
    )
    a = AlertRow
    columns = ["case_id", "policy", "cycle_started_at", "cycle", "level", "at", "recorded_at",
               "recipients", "historic", "superseded"]  # fmt: skip
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(a).from_select(columns, cycles))
            made = conn.execute(select(func.count()).select_from(a)).scalar_one()
            if made < count:
                raise SystemExit(f"only {made:,} cycles to make {count:,} alerts from")
            manager = conn.execute(
                select(UserRow.id).where(UserRow.username == MANAGER)
            ).scalar_one()
            acknowledged = select(a.id, literal(manager), literal(now, UTCDateTime())).where(
                a.id % 5 == 0
            )
            conn.execute(
                insert(AlertAcknowledgementRow).from_select(["alert_id", "user_id", "at"],
                                                            acknowledged)
            )  # fmt: skip
            token, _csrf = accounts.start_session(conn, manager, now)
    finally:
        engine.dispose()
    return token


def analyse(url: str) -> None:
    """Planner statistics for every table. PostgreSQL's autovacuum would gather them within
    a minute; SQLite has none, and without them plans the inbox through the cases of the
    manager's teams instead of reading the newest alerts off ix_alerts_at_id."""
    from casewatch.cases.db import create_db_engine, is_sqlite  # noqa: PLC0415

    engine = create_db_engine(url)
    if is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


# -- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(url: str, log: Path, workers: int) -> Iterator[str]:
    """`casewatch serve --no-scheduler` on a free loopback port, ready; stopped after."""
    port = free_port()
    command = [str(CASEWATCH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-scheduler", "--workers", str(workers), "--db", url]
    with running(command, log, port, "/readyz") as base:
        yield base


@contextmanager
def serving_baseline(url: str, log: Path, workers: int) -> Iterator[str]:
    """The baseline app on the same uvicorn, same worker count, its own free port."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "http_baseline:from_environment",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--app-dir", str(BENCH)]  # fmt: skip
    env = {"CASEWATCH_BENCH_BASELINE_DB": url}
    with running(command, log, port, "/api/v1/cases/H-0000000", env) as base:
        yield base


@contextmanager
def running(
    command: list[str], log: Path, port: int, ready: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            wait_ready(base + ready, server, log)
            yield base
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_ready(address: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"{server.args!r} exited with {server.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(address, timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{address} was not ready within 60 s:\n{tail(log)}")


def settle(base: str, limit: float = 120) -> None:
    """Wait until the server has worked off the requests wrk gave up on (it goes on
    answering them after wrk stops): /readyz runs on the same thread pool, so a quick
    answer means the queue is empty and the next run has the machine to itself."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=limit) as answer:  # noqa: S310
                answer.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - started < 0.5:  # an idle server answers in milliseconds
            return
    print(f"http: {base} still busy after {limit:.0f} s", file=sys.stderr, flush=True)


def tail(log: Path, size: int = 3000) -> str:
    return log.read_bytes()[-size:].decode(errors="replace")


def check_api(base: str, access: dict[str, Any], scenarios: list[str]) -> None:
    """One request of each scenario before the load, so a broken API fails in words, not
    in a run of errors."""
    bearer = {"Authorization": f"Bearer {access['token']}", "Content-Type": "application/json"}
    checks = {
        "view": ("GET", "/api/v1/cases/H-0000000", None, bearer, 200),
        "post": ("POST", "/api/v1/cases/H-0000000/events", POST_BODY.encode(), bearer, 201),
        "inbox": ("GET", "/api/v1/alerts", None,
                  {"Authorization": f"Bearer {access['manager_token']}"}, 200),
        "team": ("GET", "/team", None, {"Cookie": f"casewatch_session={access['session']}"}, 200),
    }  # fmt: skip
    for scenario in scenarios:
        method, path, body, headers, status = checks[scenario]
        request = urllib.request.Request(base + path, body, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
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
    access: dict[str, Any],
    seconds: int,
    options: argparse.Namespace,
) -> dict[str, Any]:
    """One wrk run of a scenario; the figures its done() printed."""
    token = access["manager_token"] if scenario == "inbox" else access["token"]
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
        "view" if scenario == BASELINE else scenario,
        POST_BODY,
        access["session"],
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
    return {
        "backend": backend,
        "scenario": scenario,
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok_per_s": round(ok / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
        "statuses": statuses,
        "socket_errors": raw["socket_errors"],
        "errors": errors,
        "error_rate": round(errors / attempts, 4) if attempts else None,
    }


def against_baseline(result: dict[str, Any], before: float, after: float) -> dict[str, Any]:
    """The scenario beside the baseline runs either side of it, and its goals judged."""
    baseline = (before + after) / 2
    ratio = result["ok_per_s"] / baseline if baseline else 0.0
    least_rps, most_p95, least_ratio = GOALS[result["scenario"]]
    missed = []
    if not result["ok_per_s"]:
        missed.append("no 2xx at all")
    if least_rps is not None and result["ok_per_s"] < least_rps:
        missed.append("2xx/s")
    if result["p95_ms"] > most_p95:
        missed.append("p95")
    if least_ratio is not None and ratio < least_ratio:
        missed.append("ratio")
    if result["errors"]:
        missed.append("errors")
    return result | {
        "baseline_ok_per_s": [before, after],
        "baseline_mean_ok_per_s": round(baseline, 1),
        "ratio": round(ratio, 3),
        "missed": missed,
        "goal_met": not missed,
    }


def bench(
    backend: str, options: argparse.Namespace, folder: Path, events: Path, wrk: str
) -> list[dict[str, Any]]:
    url, drop = fresh_database(backend, folder)
    scenarios = options.scenarios.split(",")
    try:
        print(f"http: {backend}: importing {options.cases:,} cases", file=sys.stderr, flush=True)
        with timed(f"{backend}: setting up"):
            access = prepare(url, events, options)
        script = folder / "casewatch.lua"
        script.write_text(LUA, encoding="utf-8")
        results = []
        for workers in (int(w) for w in options.workers.split(",")):
            log = folder / f"serve-{backend}-{workers}.log"
            baseline_log = folder / f"baseline-{backend}-{workers}.log"
            with (
                serving(url, log, workers) as base,
                serving_baseline(url, baseline_log, workers) as baseline_base,
            ):
                check_api(base, access, scenarios)

                def load(scenario: str, address: str, seconds: int, n: int = workers) -> Any:
                    print(f"http: {backend}: {n} worker(s): {scenario}", file=sys.stderr,
                          flush=True)  # fmt: skip
                    raw = run_wrk(wrk, address, script, scenario=scenario, access=access,
                                  seconds=seconds, options=options)  # fmt: skip
                    return summarise(backend, scenario, raw) | {
                        "workers": n, "cases": options.cases, "import_s": access["import_s"]
                    }  # fmt: skip

                if options.warmup:
                    load("view", base, options.warmup)
                    settle(base)
                    load(BASELINE, baseline_base, options.warmup)
                baselines = [load(BASELINE, baseline_base, options.duration)]
                for scenario in scenarios:
                    result = load(scenario, base, options.duration)
                    settle(base)
                    baselines.append(load(BASELINE, baseline_base, options.duration))
                    before, after = (b["ok_per_s"] for b in baselines[-2:])
                    results.append(against_baseline(result, before, after))
                results += [b | {"goal_met": None} for b in baselines]
            for server_log in (log, baseline_log):
                if server_log.stat().st_size:
                    print(f"http: {backend}: {server_log.name} said:\n{tail(server_log, 1500)}",
                          file=sys.stderr)  # fmt: skip
        return results
    finally:
        drop()


def table(results: list[dict[str, Any]]) -> str:
    head = ["backend", "workers", "scenario", "2xx/s", "p50 ms", "p95 ms", "p99 ms",
            "errors", "baseline 2xx/s", "x baseline", "goal"]  # fmt: skip
    rows = []
    for r in results:
        if r["scenario"] == BASELINE:
            continue
        low, high = r["baseline_ok_per_s"]
        rows.append(
            [
                r["backend"],
                str(r["workers"]),
                r["scenario"],
                f"{r['ok_per_s']:,.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                str(r["errors"]),
                f"{r['baseline_mean_ok_per_s']:,.0f} ({low:,.0f}/{high:,.0f})",
                f"{r['ratio']:.2f}",
                "met" if r["goal_met"] else "NOT met: " + ", ".join(r["missed"]),
            ]
        )
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [head, *rows]]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, help="alerts in the database (default 2 a case)")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)}")  # fmt: skip
    parser.add_argument("--teams", type=int, default=3, help="the cases' teams (all the user's)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of views, not reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=5, help="seconds before wrk gives up")
    parser.add_argument("--workers", default="1", help="server processes, e.g. 1,2")
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    if options.alerts is None:
        options.alerts = 2 * options.cases
    unknown = set(options.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    wrk = ensure_wrk()
    results: list[dict[str, Any]] = []
    load_average = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = folder / "cases.jsonl"
        write_cases(events, options.cases, options.teams)
        for backend in options.backends.split(","):
            results += bench(backend, options, folder, events, wrk)
    load_after = os.getloadavg()
    print(
        f"{options.cases:,} cases, {options.alerts:,} alerts; {options.connections} "
        f"connections, {options.threads} wrk threads, {options.duration} s a scenario; "
        f"`casewatch serve --workers` {options.workers}; load average "
        f"{load_average[0]:.2f} at the start, {load_after[0]:.2f} at the end; baseline: "
        "mean of the runs before and after each scenario (before/after)"
    )
    print(table(results))
    if options.json:
        document = {
            "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": [load_average, load_after],
            },
            "cases": options.cases,
            "alerts": options.alerts,
            "duration_s": options.duration,
            "connections": options.connections,
            "threads": options.threads,
            "goals": {
                name: dict(zip(["ok_per_s", "p95_ms", "x_baseline"], goal, strict=True))
                for name, goal in GOALS.items()
            },
            "results": results,
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
