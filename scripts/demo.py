"""`make demo`: a demo year that ends today, its people, and the server, on one port.

    python scripts/demo.py [--port 8000] [--db URL]

Checks the port first (a demo already serving is said so, and nothing is changed), then
creates or migrates the database, loads a demo year ending today when the database holds
no events yet (one already loaded is kept: delete casewatch.db for a fresh year), adds the
demo people that are missing (existing people keep their passwords), and serves.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from casewatch.cases.tables import EventRow
from casewatch.service.runtime import open_runtime

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "build" / "demo"
LONDON = ZoneInfo("Europe/London")
sys.path.insert(0, str(ROOT / "scripts"))
import demo_users  # noqa: E402
import generate_demo  # noqa: E402


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens there (a demo serving, or another program)."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def casewatch(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "casewatch", *args], check=True)


def events_in(db: str | None) -> int:
    runtime = open_runtime(db, None)
    try:
        with runtime.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(EventRow)).scalar_one())
    finally:
        runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    db_args = ["--db", args.db] if args.db else []
    if port_in_use(args.host, args.port):
        sys.exit(
            f"demo: port {args.port} is already in use: a demo may be serving there already "
            f"(open http://{args.host}:{args.port}). Stop it with Ctrl+C where it runs, or "
            "use another port: make demo PORT=8001. Nothing was changed."
        )
    casewatch("init", *db_args)
    loaded = events_in(args.db)
    if loaded:
        print(
            f"demo: the database already holds {loaded} events: kept as they are "
            "(delete casewatch.db, then make demo, for a fresh year ending today)"
        )
    else:
        today = datetime.now(LONDON).date()
        BUILT.mkdir(parents=True, exist_ok=True)
        events = BUILT / f"events-{today.isoformat()}.jsonl"
        lines = generate_demo.generate(2014, 300, today)
        events.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"demo: a year of casework ending today ({today}): {len(lines)} events")
        casewatch("import", str(events), *db_args)
    demo_users.create(args.db)
    print(f"demo: serving on http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
    command = [sys.executable, "-m", "casewatch", "serve", "--host", args.host]
    os.execv(sys.executable, [*command, "--port", str(args.port), *db_args])  # noqa: S606 - our own CLI, no shell


if __name__ == "__main__":
    main()
