"""`casewatch export` and `casewatch restore`: a whole deployment as a folder of files,
and back into an empty database, SQLite or PostgreSQL alike.

An export folder holds:

- `manifest.json`: the format, the schema it was taken at, and every file's SHA-256;
- `events.jsonl`: every event in effect order, in the contract's import format (victim
  details included unless erased), which any casewatch can `import`;
- `config/` and `config/rules/`: the configuration and rule files the exporter ran with;
- `tables/*.jsonl`: every table row by row, except sign-in sessions and failed sign-in
  counters, which are short-lived by design.

It is read in one snapshot (REPEATABLE READ on PostgreSQL, a WAL read transaction on
SQLite), so it can be taken while the service runs. Restore writes the tables back as
they were (ids, pins, alert ledger and all) in one transaction, then replays every case
and rolls back unless each stored state, cycle, flag and measure fact equals its replay: a
restore is whole and verified, or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from attrs import frozen
from sqlalchemy import Column, Connection, DateTime, Engine, Table, func, insert, select, text

from casewatch import __version__
from casewatch.app.inbox import recount_waiting_alerts
from casewatch.cases.db import UTCDateTime
from casewatch.cases.tables import EventRow, PersonalDataRow
from casewatch.cases.validation import PERSONAL_FIELD
from casewatch.engine.consistency import Difference, check_cases
from casewatch.engine.store import Rulesets, refresh_rag_columns
from casewatch.migrations.schema import head_revision, target_metadata
from casewatch.service import audit

FORMAT: Final = "casewatch-export"
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"
EVENTS_FILE: Final = "events.jsonl"
# Short-lived by design: everyone signs in again after a restore.
TRANSIENT_TABLES: Final = frozenset({"web_sessions", "login_failures"})
# Kept by the database's own triggers as the alerts and acknowledgements are restored.
TRIGGER_KEPT_TABLES: Final = frozenset({"waiting_alerts"})
INSERT_BATCH: Final = 1_000
READ_BATCH: Final = 5_000

Progress = Callable[[str, int], None]


class RestoreError(ValueError):
    """An export that cannot be restored here; says which file and why."""


@frozen
class RestoreSummary:
    exported_at: str
    rows: Mapping[str, int]
    cases_checked: int


def exported_tables() -> list[Table]:
    """The tables an export carries, parents before children (foreign-key order)."""
    skipped = TRANSIENT_TABLES | TRIGGER_KEPT_TABLES
    return [t for t in target_metadata().sorted_tables if t.name not in skipped]


def export_database(
    engine: Engine,
    destination: Path,
    config_files: Mapping[str, str],
    *,
    by: str,
    progress: Progress,
) -> dict[str, Any]:
    """Write the export folder; returns its manifest. The folder appears only when
    complete: it is written beside `destination` under another name, then renamed."""
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; choose a new folder")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    files: dict[str, dict[str, Any]] = {}
    try:
        with _snapshot(engine) as conn:
            exported_at = datetime.now(UTC)
            files[EVENTS_FILE] = _write_lines(
                partial / EVENTS_FILE, _contract_events(conn), EVENTS_FILE, progress
            )
            for table in exported_tables():
                name = f"tables/{table.name}.jsonl"
                files[name] = _write_lines(partial / name, _rows(conn, table), name, progress)
        for name, content in sorted(config_files.items()):
            files[f"config/{name}"] = _write_text(partial / "config" / name, content)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "casewatch_version": __version__,
            "schema_revision": head_revision(),
            "database": engine.dialect.name,
            "exported_at": exported_at.isoformat(),
            "files": files,
        }
        _write_text(partial / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        partial.rename(destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    with engine.connect() as conn, conn.begin():
        audit.record_operator(
            conn, "database.export", now=datetime.now(UTC), by=by,
            detail={"folder": destination.name, "events": files[EVENTS_FILE]["lines"]},
        )  # fmt: skip
    return manifest


def restore_database(
    engine: Engine, source: Path, rulesets: Rulesets, *, by: str, progress: Progress
) -> RestoreSummary:
    """Load an export into this (empty, migrated) database, verified by replay."""
    manifest = read_manifest(source)
    rows: dict[str, int] = {}
    with engine.connect() as conn, conn.begin():
        occupied = _occupied_tables(conn)
        if occupied:
            raise RestoreError(
                "restore needs an empty database; this one already holds "
                + ", ".join(f"{n:,} {t}" for t, n in occupied.items())
            )
        with _waiting_alerts_counted_after(conn):
            for table in exported_tables():
                name = f"tables/{table.name}.jsonl"
                if name not in manifest["files"]:
                    raise RestoreError(f"{source / MANIFEST}: lists no {name}")
                rows[table.name] = _load_table(conn, table, source / name, name, progress)
        _advance_sequences(conn)
        refresh_rag_columns(conn)  # an export from before the case rows kept them
        checked, differences = check_cases(conn, rulesets, progress=progress)
        if differences:
            raise RestoreError(_replay_disagrees(differences))
        audit.record_operator(
            conn, "database.restore", now=datetime.now(UTC), by=by,
            detail={"exported_at": manifest["exported_at"], "events": rows["events"]},
        )  # fmt: skip
    return RestoreSummary(manifest["exported_at"], rows, checked)


# The tables whose triggers keep `waiting_alerts` (migration 0011).
_COUNTED_TABLES: Final = ("alerts", "alert_acknowledgements")


@contextmanager
def _waiting_alerts_counted_after(conn: Connection) -> Iterator[None]:
    """On PostgreSQL the rows are loaded one statement each, and the counting triggers
    would update the same few rows of `waiting_alerts` once per alert, ever slower in one
    transaction: they are off for the load (in this transaction only) and the counts are
    made once after it, from the loaded alerts."""
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        for table in _COUNTED_TABLES:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    yield
    if postgresql:
        for table in _COUNTED_TABLES:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    recount_waiting_alerts(conn)


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is present and unchanged."""
    path = source / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RestoreError(f"{source} is not a casewatch export (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RestoreError(f"{path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RestoreError(f"{path} is not a casewatch export manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise RestoreError(
            f"{path}: export format {manifest.get('format_version')} is not one this "
            f"casewatch reads ({FORMAT_VERSION})"
        )
    if manifest.get("schema_revision") != head_revision():
        raise RestoreError(
            f"the export was taken at schema {manifest.get('schema_revision')}, this casewatch "
            f"is at {head_revision()}: restore it with the casewatch that made it, then upgrade "
            "with `casewatch init`"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(facts, dict) and isinstance(facts.get("sha256"), str) for facts in files.values()
    ):
        raise RestoreError(f"{path} is damaged: its list of files cannot be read")
    for name, facts in files.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise RestoreError(f"{path} names a file outside the export: {name}")
        try:
            digest = _sha256(source / name)
        except OSError as exc:
            raise RestoreError(f"{source / name} cannot be read: {exc.strerror or exc}") from None
        if digest is None:
            raise RestoreError(f"{source / name} is missing")
        if digest != facts["sha256"]:
            raise RestoreError(f"{source / name} has changed since the export (SHA-256 differs)")
    return dict(manifest)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    options: dict[str, Any] = {"read_only": True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def _contract_events(conn: Connection) -> Iterator[str]:
    query = (
        select(EventRow.payload, PersonalDataRow.data)
        .outerjoin(PersonalDataRow, PersonalDataRow.event_id == EventRow.event_id)
        .order_by(EventRow.at, EventRow.import_id, EventRow.line)
    )
    for payload, personal in conn.execution_options(yield_per=READ_BATCH).execute(query):
        event = json.loads(payload)
        if personal is not None:
            event[PERSONAL_FIELD] = json.loads(personal)
        yield json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _rows(conn: Connection, table: Table) -> Iterator[str]:
    timestamps = _timestamp_columns(table)
    query = select(table).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=READ_BATCH).execute(query).mappings():
        record = dict(row)
        for name in timestamps:
            if record[name] is not None:
                record[name] = record[name].isoformat()
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _load_table(conn: Connection, table: Table, path: Path, name: str, progress: Progress) -> int:
    timestamps = _timestamp_columns(table)
    columns = {c.name for c in table.columns}
    batch: list[dict[str, Any]] = []
    count = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                batch.append(_decode_row(line, columns, timestamps))
            except (ValueError, TypeError) as exc:
                raise RestoreError(
                    f"{path} line {number}: not a row of {table.name} ({exc})"
                ) from None
            count += 1
            if len(batch) == INSERT_BATCH:
                conn.execute(insert(table), batch)
                batch.clear()
                progress(name, count)
    if batch:
        conn.execute(insert(table), batch)
    progress(name, count)
    return count


def _decode_row(line: str, columns: set[str], timestamps: list[str]) -> dict[str, Any]:
    record = json.loads(line)
    if not isinstance(record, dict) or set(record) != columns:
        raise ValueError("its columns are not the table's")
    for column in timestamps:
        if record[column] is not None:
            record[column] = datetime.fromisoformat(record[column])
    return record


def _timestamp_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if _is_timestamp(c)]


def _is_timestamp(column: Column[Any]) -> bool:
    return isinstance(column.type, UTCDateTime | DateTime)


def _occupied_tables(conn: Connection) -> dict[str, int]:
    counts = {
        table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for table in exported_tables()
    }
    return {name: n for name, n in counts.items() if n}


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL's id sequences past the restored ids (SQLite takes max + 1 itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in exported_tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                highest = func.max(column)
                sequence = func.pg_get_serial_sequence(table.name, column.name)
                conn.execute(
                    select(func.setval(sequence, func.coalesce(highest, 1), highest.is_not(None)))
                )


def _replay_disagrees(differences: list[Difference]) -> str:
    cases = sorted({d.case_id for d in differences})
    shown = ", ".join(cases[:5]) + (f" and {len(cases) - 5} more" if len(cases) > 5 else "")
    return (
        f"nothing restored: replaying the events under this configuration gives different "
        f"state for {len(cases)} case(s) ({shown}). Restore with --config pointing at the "
        "export's config/ folder, the configuration they were derived under"
    )


def _write_lines(path: Path, lines: Iterator[str], name: str, progress: Progress) -> dict[str, Any]:
    """One JSON document a line; the manifest gets its digest and line count."""
    digest = hashlib.sha256()
    count = 0
    with _private_file(path) as out:
        for line in lines:
            data = (line + "\n").encode("utf-8")
            out.write(data)
            digest.update(data)
            count += 1
            if count % READ_BATCH == 0:
                progress(name, count)
    progress(name, count)
    return {"sha256": digest.hexdigest(), "lines": count}


def _write_text(path: Path, content: str) -> dict[str, Any]:
    data = content.encode("utf-8")
    with _private_file(path) as out:
        out.write(data)
    return {"sha256": hashlib.sha256(data).hexdigest()}


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """Victim data: created readable by the exporting user only, never over a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        yield out


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()
