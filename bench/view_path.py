"""One case view in-process: what `GET /api/v1/cases/{id}` sends to the database and costs.

    .venv/bin/python bench/view_path.py [--cases N] [--views N] [--backends ...] [--baseline REV]

Per backend: a throwaway database gets --cases cases as bench/http_load.py makes them
(imported, a victim each, assessed high) and a caseworker with an API token. Then the
real Litestar app (`create_app`, in-process through its test client: no sockets, no
uvicorn) serves --views views of random cases with the bearer token, one at a time, and
the script reports per view: the SQL statements SQLAlchemy ran, the connection checkouts,
the messages psycopg sent to PostgreSQL (each one a round trip: pool pings, BEGIN and
COMMIT included; counted in a process that loads psycopg's pure-Python implementation),
the audit rows written; then, in a second process with psycopg's compiled implementation
(as the service runs), the CPU time of the process per view and the median wall time.

With --baseline REV the same database is measured with the `casewatch` package of that
revision (extracted with `git archive`, first on PYTHONPATH) and with the working tree's,
alternately (old, new, old, new), each in its own process, so both see the same load.
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
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def measure(url: str, token: str, cases: int, views: int) -> dict[str, Any]:
    """Serve `views` views through the app and count what each sent (this process only)."""
    import psycopg  # noqa: PLC0415
    from litestar.testing import TestClient  # noqa: PLC0415
    from sqlalchemy import event, func, select  # noqa: PLC0415

    import casewatch  # noqa: PLC0415
    from casewatch.service.runtime import open_runtime  # noqa: PLC0415
    from casewatch.service.tables import AuditRow  # noqa: PLC0415
    from casewatch.service.web.app import create_app  # noqa: PLC0415

    counts = {"statements": 0, "checkouts": 0, "messages": 0}
    counts_messages = psycopg.pq.__impl__ == "python"
    if counts_messages:
        pgconn = psycopg.pq.PGconn
        for name in ("send_query", "send_query_params", "send_prepare", "send_query_prepared",
                     "exec_", "exec_params"):  # fmt: skip
            original = getattr(pgconn, name)

            def counted(self: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                counts["messages"] += 1
                return _original(self, *args, **kw)

            setattr(pgconn, name, counted)

    runtime = open_runtime(url, None, migrate=False)
    engine = runtime.engine

    def audit_rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(AuditRow)).scalar_one())

    event.listen(engine, "before_cursor_execute", lambda *_: counts.__setitem__(
        "statements", counts["statements"] + 1))  # fmt: skip
    event.listen(engine, "checkout", lambda *_: counts.__setitem__(
        "checkouts", counts["checkouts"] + 1))  # fmt: skip
    chooser = random.Random(7)
    headers = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime)) as client:
        for _ in range(20):  # warm: imports, prepared statements, the pool
            answer = client.get(f"/api/v1/cases/H-{chooser.randrange(cases):07d}", headers=headers)
            assert answer.status_code == 200, answer.text[:300]
        audited_before = audit_rows()
        for key in counts:
            counts[key] = 0
        walls = []
        cpu_started = time.process_time()
        for _ in range(views):
            path = f"/api/v1/cases/H-{chooser.randrange(cases):07d}"
            started = time.perf_counter()
            answer = client.get(path, headers=headers)
            walls.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text[:300]
        cpu = time.process_time() - cpu_started
        per_view = {key: value / views for key, value in counts.items()}
        audited = audit_rows() - audited_before
    runtime.engine.dispose()
    return {
        "code": str(Path(casewatch.__file__).parent),
        "views": views,
        "statements_per_view": per_view["statements"],
        "checkouts_per_view": per_view["checkouts"],
        "pg_messages_per_view": per_view["messages"] if counts_messages else None,
        "audit_rows_per_view": audited / views,
        "cpu_ms_per_view": round(cpu * 1000 / views, 3),
        "wall_ms_median": round(statistics.median(walls) * 1000, 3),
    }


def prepare(url: str, cases: int, folder: Path) -> str:
    """The cases and a caseworker as http_load makes them; the caseworker's API token."""
    sys.path.insert(0, str(BENCH))
    import http_load  # noqa: PLC0415

    events = folder / "cases.jsonl"
    http_load.write_cases(events, cases, 3)
    http_load.casewatch(url, "init")
    http_load.casewatch(url, "import", str(events))
    teams = [arg for n in range(3) for arg in ("--team", f"bench-{n}")]
    http_load.casewatch(url, "users", "add", http_load.USERNAME, "--role", "caseworker",
                        "--agency", "council", *teams,
                        env={"CASEWATCH_PASSWORD": http_load.PASSWORD})  # fmt: skip
    answer = json.loads(http_load.casewatch(url, "users", "token", http_load.USERNAME,
                                            "--name", "bench"))  # fmt: skip
    http_load.analyse(url)
    token: str = answer["token"]
    return token


def run_child(code: Path | None, url: str, token: str, options: argparse.Namespace) -> Any:
    """Counted in one process (psycopg's Python implementation, which is slower), timed in
    another (its compiled one, as the service runs)."""
    counted = _child(code, url, token, options, pure_python=url.startswith("postgresql"))
    timed = _child(code, url, token, options, pure_python=False)
    return {key: value for key, value in counted.items() if "ms" not in key} | {
        key: value for key, value in timed.items() if "ms" in key
    }


def _child(
    code: Path | None, url: str, token: str, options: argparse.Namespace, *, pure_python: bool
) -> Any:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    if pure_python:
        env["PSYCOPG_IMPL"] = "python"
    argv = [sys.executable, __file__, "--measure", url, "--token", token]
    argv += ["--cases", str(options.cases), "--views", str(options.views)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--views", type=int, default=300)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--baseline", help="a git revision to measure beside the working tree")
    parser.add_argument("--rounds", type=int, default=2, help="old/new pairs with --baseline")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(measure(options.measure, options.token, options.cases, options.views)))
        return
    sys.path.insert(0, str(BENCH))
    from databases import extract, fresh_database  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        old = extract(options.baseline, folder) if options.baseline else None
        for backend in options.backends.split(","):
            url, drop = fresh_database(backend, folder)
            try:
                token = prepare(url, options.cases, folder)
                plan = [(options.baseline, old), ("working tree", None)] if old else [
                    ("working tree", None)]  # fmt: skip
                for _ in range(options.rounds if old else 1):
                    for label, code in plan:
                        result = run_child(code, url, token, options)
                        print(json.dumps({"backend": backend, "code": label} | result), flush=True)
            finally:
                drop()


if __name__ == "__main__":
    main()
