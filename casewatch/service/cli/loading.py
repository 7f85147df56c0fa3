"""`casewatch init` and `casewatch import`: a database ready, and events into it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from casewatch.cases.importing import Importer
from casewatch.migrations.schema import head_revision
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    EXIT_USAGE,
    ConfigOption,
    DbOption,
    fail,
    opened_runtime,
    print_json,
    progress_reporter,
)
from casewatch.service.logging import get_logger

log = get_logger("casewatch.cli")
commands = typer.Typer()


@commands.command()
def init(db: DbOption = None, config: ConfigOption = None) -> None:
    """Create the database, or migrate it to the current schema (safe to repeat)."""
    with opened_runtime(db, config, migrate=True) as runtime:
        log.info("database_ready", action="init", database=runtime.safe_url, schema=head_revision())
        print_json({"database": runtime.safe_url, "schema": head_revision()})


@commands.command("import")
def import_events(
    path: Annotated[str, typer.Argument(help="JSONL file of events, or - for standard input.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate a JSONL file of events and apply it whole, or not at all."""
    stream = _open_input(path)
    with stream, opened_runtime(db, config) as runtime:
        importer = Importer(
            runtime.engine,
            runtime.config.validator(),
            projectors=runtime.projectors(),
            progress=progress_reporter(),
            workers=os.cpu_count() or 1,
        )
        try:
            summary = importer.run(stream, source="stdin" if path == "-" else path)
        except OSError as exc:
            fail(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}")
    log.info(
        "import_finished",
        action="import",
        read=summary.read,
        applied=summary.applied,
        duplicates=summary.duplicates,
        rejected=summary.rejected,
    )
    print_json(summary.as_json())
    if summary.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return Path(path).open("rb")
    except OSError as exc:
        fail(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}")
