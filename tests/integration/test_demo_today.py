"""`make demo`'s year that ends today: generated for a given date, deterministic, alive on
that day (targets running green and amber, a few late, last quarter complete, the PSG
landing on a quarter with figures), and a second `make demo` changes nobody's password
and never fights a demo already serving for its port."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from casewatch.app.case_list import CaseFilters, list_cases, team_counts
from casewatch.service import accounts
from casewatch.service.access import Principal, Role
from casewatch.service.reporting import landing_period
from casewatch.service.runtime import open_runtime
from casewatch.service.tables import UserRow
from tests.cli import casewatch

ROOT: Final = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import demo_users  # noqa: E402
import generate_demo  # noqa: E402

END: Final = date(2026, 11, 26)  # a Thursday; the year runs to 2026-11-26 00:00 (GMT)
NOW: Final = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 09:00 in London, GMT in November
LONDON: Final = ZoneInfo("Europe/London")
MANAGER: Final = Principal(1, "n.shah", "n.shah", Role.MANAGER, "council", ["asb-north"])


@pytest.fixture
def demo_db(db_url: str, tmp_path: Path) -> str:
    """The demo year ending on END, imported, with the scheduler's check run at NOW."""
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(generate_demo.generate(2014, 300, END)) + "\n", "utf-8")
    imported = casewatch("import", str(events), db=db_url)
    assert imported.exit_code == 0 and imported.json()["rejected"] == 0, imported.stdout[:500]
    assert casewatch("tick", "--now", NOW.isoformat(), db=db_url).exit_code == 0
    return db_url


def test_the_demo_for_a_date_is_the_same_every_time_and_nothing_is_after_it() -> None:
    """Same date, same bytes; every event before that day's midnight; the 2014/15 file is
    not what a dated year gives."""
    first = generate_demo.generate(2014, 300, END)
    assert first == generate_demo.generate(2014, 300, END)
    assert first != generate_demo.generate(2014, 300, date(2026, 11, 27))
    cutoff = datetime(2026, 11, 26, tzinfo=LONDON)
    moments = [datetime.fromisoformat(json.loads(line)["at"]) for line in first]
    assert max(moments) < cutoff
    assert min(moments) >= datetime(2025, 11, 26, tzinfo=LONDON)


def test_the_waiting_cases_are_amber_on_the_day(demo_db: str) -> None:
    """ASB-0331..0333 were assessed high 4 days and 3, 6, 9 hours before 26 November began
    (21:00, 18:00, 15:00 on the 21st): their 5-day conference targets fall due at 21:00,
    18:00 and 15:00 on the 26th and warned a day earlier (80% of 5 days), so at 09:00 they
    are amber and due later that day."""
    runtime = open_runtime(demo_db, None)
    try:
        with runtime.engine.connect() as conn:
            listed = list_cases(conn, MANAGER, CaseFilters(limit=500), NOW, LONDON)
            (counts,) = team_counts(conn, MANAGER, CaseFilters(), NOW)
    finally:
        runtime.engine.dispose()
    waiting = {c.case_id: c for c in listed if c.case_id in {"ASB-0331", "ASB-0332", "ASB-0333"}}
    assert {k: (c.rag, c.next_due_at) for k, c in waiting.items()} == {
        "ASB-0331": ("amber", "2026-11-26T21:00:00+00:00"),
        "ASB-0332": ("amber", "2026-11-26T18:00:00+00:00"),
        "ASB-0333": ("amber", "2026-11-26T15:00:00+00:00"),
    }
    rags = [c.rag for c in listed]
    assert "green" in rags and "red" in rags  # targets running in time, and some late
    assert counts.amber >= 3 and counts.red < counts.cases  # "a few" red, not all of them


def test_last_quarter_is_complete_and_the_psg_lands_on_this_quarter(demo_db: str) -> None:
    """2026-Q2 (July to September) lies wholly inside the year: every default target has
    a cohort there. On 26 November (2026-Q3) targets started since 1 October are decided,
    so the report page opens on this quarter so far."""
    report = casewatch(
        "report", "sla", "--period", "2026-Q2", "--as-of", NOW.isoformat(), "--format",
        "json", db=demo_db,
    ).json()  # fmt: skip
    cohorts = {s["policy"]: s["cohort"] for s in report["slas"]}
    for policy in (
        "asb-high-risk-conference",
        "asb-high-risk-reduction",
        "da-high-risk-idva-contact",
        "da-high-risk-marac-referral",
    ):
        assert cohorts[policy] > 0, policy
    runtime = open_runtime(demo_db, None)
    try:
        period, why = landing_period(runtime, NOW)
    finally:
        runtime.engine.dispose()
    assert period.label == "2026-Q3"
    assert why == "this quarter so far (2026-Q3), which has decided targets"


def test_a_second_make_demo_keeps_everyones_password(db_url: str) -> None:
    """The first run prints new passwords; the second adds nobody, keeps every hash, and
    says how to reset one."""
    first, second = io.StringIO(), io.StringIO()
    with redirect_stdout(first):
        demo_users.create(db_url)
    runtime = open_runtime(db_url, None)
    try:
        with runtime.engine.connect() as conn:
            before = dict(conn.execute(select(UserRow.username, UserRow.password_hash)).all())
        with redirect_stdout(second):
            demo_users.create(db_url)
        with runtime.engine.connect() as conn:
            after = dict(conn.execute(select(UserRow.username, UserRow.password_hash)).all())
            password = first.getvalue().split("k.doyle")[1].split()[0]
            who = accounts.authenticate(conn, "k.doyle", password, "127.0.0.1", NOW)
    finally:
        runtime.engine.dispose()
    assert after == before and len(after) == 5
    assert who is not None and who.username == "k.doyle"
    assert "(kept from before)" in second.getvalue()
    assert "casewatch users password USERNAME" in second.getvalue()


def test_make_demo_on_a_busy_port_says_so_and_changes_nothing(tmp_path: Path) -> None:
    """With something listening on the port, the demo exits 1 in words and creates no
    database."""
    db = tmp_path / "casewatch.db"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", str(port),
             "--db", f"sqlite:///{db}"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"port {port} is already in use" in done.stderr
    assert "make demo PORT=8001" in done.stderr
    assert not db.exists()
