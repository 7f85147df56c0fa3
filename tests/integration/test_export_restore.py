"""`casewatch export` and `casewatch restore`: the demo year with people, shares, alerts,
an acknowledgement and an erasure goes from SQLite to PostgreSQL and back, identical."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from casewatch.app.inbox import waiting_count_differences
from casewatch.cases.db import create_db_engine
from casewatch.cases.importing import Importer
from casewatch.engine.tables import WaitingAlertCountRow
from casewatch.service.backup import exported_tables
from casewatch.service.runtime import open_runtime
from tests.cli import casewatch
from tests.databases import PostgresTestDatabase, SqliteTemplate
from tests.web import DEMO, api_token, make_site

AS_OF = "2015-06-30"
REPORT = ("report", "sla", "--period", "FY2014", "--as-of", AS_OF, "--format", "json",
          "--details")  # fmt: skip
LIST = ("case", "list", "--status", "all", "--format", "json")
ERASED = "DA-0159"
SHOW = ("case", "show", ERASED, "--as-of", AS_OF, "--format", "json")
GROWING = "tables/audit_log.jsonl"  # each export and restore adds its own audit row


def _demo_deployment(db_url: str) -> None:
    """The demo year, its people and tokens, alerts at the year's end, one acknowledged,
    one case shared with another agency, one victim's data erased."""
    site = next(make_site(db_url, events=DEMO))
    with TestClient(site.app) as client:
        manager = {"authorization": f"Bearer {api_token(site.runtime, 'manager')}"}
        caseworker = {"authorization": f"Bearer {api_token(site.runtime, 'caseworker_da')}"}
        inbox = client.get("/api/v1/alerts", headers=manager).json()
        assert inbox, "the demo year should leave alerts at its end"
        acknowledged = client.post(f"/api/v1/alerts/{inbox[0]['id']}/acknowledge", headers=manager)
        assert acknowledged.status_code == 200
        shared = client.post(f"/api/v1/cases/{ERASED}/shares", json={"agency": "police"},
                             headers=caseworker)  # fmt: skip
        assert shared.status_code in (200, 201), shared.text
    site.runtime.engine.dispose()
    erased = casewatch("erase", ERASED, "--reason", "SAR-1", db=db_url)
    assert erased.json()["records_erased"] == 1


@pytest.fixture
def sqlite_url(_sqlite_template: SqliteTemplate, tmp_path: Path) -> str:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    return _sqlite_template.copy_to(folder)


@pytest.fixture
def postgres_url(postgres_database: PostgresTestDatabase) -> str:
    return postgres_database.reset()


def _export(db_url: str, folder: Path) -> dict[str, bytes]:
    outcome = casewatch("export", str(folder), db=db_url)
    assert outcome.exit_code == 0, outcome.stderr
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def _observed(db_url: str) -> dict[str, object]:
    return {
        "cases": casewatch(*LIST, db=db_url).json(),
        "report": casewatch(*REPORT, db=db_url).json(),
        "case": casewatch(*SHOW, db=db_url).json(),
        "alerts": casewatch("alerts", "list", "--format", "json", db=db_url).json(),
    }


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_export_and_restore_is_identical_across_backends(
    direction: str, sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Every file of a second export equals the first (the audit log only grows by the
    restore's own row; the export's own is written at the source, after it), and cases, cycles, alerts and the report read the same."""
    source, target = (
        (sqlite_url, postgres_url) if direction == "sqlite-to-postgresql"
        else (postgres_url, sqlite_url)
    )  # fmt: skip
    _demo_deployment(source)
    before = _observed(source)
    first = _export(source, tmp_path / "first")

    restored = casewatch("restore", str(tmp_path / "first"), "--by", "dpo", db=target)
    assert restored.exit_code == 0, restored.stderr
    summary = restored.json()
    assert summary["events"] == first["events.jsonl"].count(b"\n")
    assert summary["cases_checked"] == summary["rows"]["cases"] > 0

    second = _export(target, tmp_path / "second")
    assert second.keys() == first.keys()
    for name in first:
        if name != GROWING:
            assert second[name] == first[name], f"{name} differs after the round trip"
    original, grown = first[GROWING].splitlines(), second[GROWING].splitlines()
    assert grown[: len(original)] == original
    assert [json.loads(row)["action"] for row in grown[len(original) :]] == ["database.restore"]
    assert _observed(target) == before
    assert casewatch("check", db=target).exit_code == 0
    _assert_waiting_alerts_counted(target)


def _assert_waiting_alerts_counted(db_url: str) -> None:
    """The restore's kept counts of waiting alerts equal the alerts counted one by one."""
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.sum(WaitingAlertCountRow.waiting))).scalar_one() > 0
            assert waiting_count_differences(conn) == {}
    finally:
        engine.dispose()


def test_the_export_is_private_complete_and_its_events_import_anywhere(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Files readable by their owner only; every table but the short-lived ones; victim
    details but not erased ones; and events.jsonl alone rebuilds the same cases."""
    _demo_deployment(sqlite_url)
    folder = tmp_path / "export"
    files = _export(sqlite_url, folder)
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert {f"tables/{t.name}.jsonl" for t in exported_tables()} <= files.keys()
    assert "tables/web_sessions.jsonl" not in files
    assert {"config/settings.yaml", "config/policies.yaml", "config/rules/sla.yaml"} <= (
        files.keys()
    )
    events = [json.loads(line) for line in files["events.jsonl"].splitlines()]
    assert sum("victim" in e for e in events) == 299  # the demo's 300 less the erased one
    assert not any("victim" in e for e in events if e["case_id"] == ERASED)

    imported = casewatch("import", str(folder / "events.jsonl"), db=postgres_url)
    assert imported.exit_code == 0, imported.stdout
    assert casewatch(*LIST, db=postgres_url).json() == casewatch(*LIST, db=sqlite_url).json()
    assert casewatch(*REPORT, db=postgres_url).json() == casewatch(*REPORT, db=sqlite_url).json()


def test_restore_refuses_a_used_database_or_a_changed_file(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Nothing is written when the target holds data, a file was altered, or the cases
    would replay differently under the target's configuration."""
    _demo_deployment(sqlite_url)
    folder = tmp_path / "export"
    _export(sqlite_url, folder)

    into_itself = casewatch("restore", str(folder), db=sqlite_url)
    assert into_itself.exit_code == 1
    assert "restore needs an empty database" in into_itself.stderr

    cycles = folder / "tables" / "sla_cycles.jsonl"
    intact = cycles.read_bytes()
    cycles.write_bytes(intact.replace(b'"breached"', b'"met"', 1))
    damaged = casewatch("restore", str(folder), db=postgres_url)
    assert damaged.exit_code == 1
    assert "sla_cycles.jsonl has changed since the export" in damaged.stderr
    assert casewatch(*LIST, db=postgres_url).json() == []

    cycles.write_bytes(intact)
    elsewhere = casewatch("restore", str(folder), db=postgres_url,
                          env={"CASEWATCH_TIMEZONE": "Asia/Tokyo"})  # fmt: skip
    assert elsewhere.exit_code == 1
    assert "nothing restored: replaying the events under this configuration" in (elsewhere.stderr)
    assert casewatch(*LIST, db=postgres_url).json() == []
    assert casewatch("restore", str(folder), db=postgres_url).exit_code == 0

    manifest = folder / "manifest.json"
    intact_manifest = manifest.read_text()
    manifest.write_text(intact_manifest.replace('"sha256"', '"sha"', 1))
    unreadable = casewatch("restore", str(folder), db=postgres_url)
    assert unreadable.exit_code == 1
    assert "manifest.json is damaged" in unreadable.stderr
    manifest.write_text(intact_manifest)

    again = casewatch("export", str(folder), db=sqlite_url)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert casewatch("restore", str(tmp_path / "nowhere"), db=postgres_url).exit_code == 2


def test_an_export_taken_while_imports_commit_is_one_consistent_snapshot(
    db_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    """Imports keep committing during the export; the export still restores (every case
    replays to its stored state) and holds whole imports only."""
    assert casewatch("import", str(DEMO), db=db_url).exit_code == 0
    stop = threading.Event()
    imported: list[int] = []
    runtime = open_runtime(db_url, None)  # the CLI runner swaps sys.stdout: not in threads
    importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())

    def keep_importing() -> None:
        for batch in range(200):
            if stop.is_set():
                return
            lines = [
                {"event_id": f"live-{batch}-{n}", "case_id": "DA-0159", "type": "contact_attempted",
                 "at": "2015-03-01T10:00:00+00:00", "method": "call"}
                for n in range(20)
            ]  # fmt: skip
            summary = importer.run([json.dumps(line).encode() for line in lines], "live")
            assert summary.applied == 20, summary.errors
            imported.append(batch)

    writer = threading.Thread(target=keep_importing)
    writer.start()
    try:
        while not imported:
            time.sleep(0.01)
        _export(db_url, tmp_path / "live")
    finally:
        stop.set()
        writer.join()
        runtime.engine.dispose()
    assert len(imported) > 1
    restored = casewatch("restore", str(tmp_path / "live"), db=sqlite_url)
    assert restored.exit_code == 0, restored.stderr
    live = [
        e for e in (tmp_path / "live" / "events.jsonl").read_text().splitlines() if "live-" in e
    ]
    assert len(live) % 20 == 0
