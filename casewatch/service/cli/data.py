"""`casewatch erase|retention|export|restore`: data protection and data keeping, each
audited under the name of whoever ran it (`--operator NAME`).

`--by` named that person here until it was renamed: everywhere else `--by` means "break
down by". It still works on these four commands as a deprecated alias of `--operator`,
with one line on stderr saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casewatch.app.commands import ApplyRetention, EraseCase
from casewatch.app.errors import NotFoundError
from casewatch.service.access import Operator
from casewatch.service.backup import RestoreError, export_database, restore_database
from casewatch.service.bootstrap import bootstrap
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    EXIT_USAGE,
    ConfigOption,
    DbOption,
    fail,
    global_options,
    opened_runtime,
    operator_time,
    print_json,
    progress_reporter,
)
from casewatch.service.config import config_file_texts
from casewatch.service.logging import get_logger

log = get_logger("casewatch.cli")
commands = typer.Typer()

OPERATOR_HELP = "Who is running it, recorded in the audit log (default: {})."
OperatorOption = Annotated[
    str | None,
    typer.Option("--operator", help=OPERATOR_HELP.format("cli"), show_default=False),
]
ByAlias = Annotated[
    str | None,
    typer.Option("--by", hidden=True, help="Deprecated alias of --operator.", show_default=False),
]


def _operator(command: str, operator: str | None, by: str | None, default: str = "cli") -> str:
    """The name to audit: --operator's, or the deprecated --by's with a line saying so;
    both at once is a usage error rather than a silent choice."""
    if by is None:
        return default if operator is None else operator
    if operator is not None:
        raise typer.BadParameter("give --operator only (--by is its old name)", param_hint="--by")
    typer.echo(f"casewatch: {command} --by is deprecated; use --operator", err=True)
    return by


@commands.command()
def erase(
    case_id: Annotated[str, typer.Argument(help="The case whose victim data is erased.")],
    reason: Annotated[
        str, typer.Option(help="Why (e.g. the data subject's request reference); audited.")
    ],
    operator: Annotated[
        str | None,
        typer.Option(
            "--operator",
            help="Who is erasing, recorded in the audit log (default: cli).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    by: ByAlias = None,
) -> None:
    """Erase a victim's personal data. The case's events stay (without it), so its SLA
    cycles, flags and reports are unchanged. Audited; safe to repeat."""
    who = _operator("erase", operator, by)
    if not reason.strip():
        raise typer.BadParameter("give the reason for the erasure", param_hint="--reason")
    with opened_runtime(db, config) as runtime:
        try:
            erased = bootstrap(runtime).handle(EraseCase(Operator(who), case_id, reason.strip()))
        except NotFoundError:
            fail(EXIT_REJECTED, f"case '{case_id}' not found")
    log.info("personal_data_erased", action="erase", case_id=case_id, records=erased)
    print_json({"case_id": case_id, "records_erased": erased})


@commands.command()
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what is due; erase nothing.")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the policy as at this date (default: now).")
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help=OPERATOR_HELP.format("retention"), show_default=False),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    by: ByAlias = None,
) -> None:
    """Erase the victim personal data of closed cases past the retention period set in
    retention.yaml (per case type). Events stay, anonymised, so reports do not change.
    Each erasure is audited; safe to repeat (e.g. nightly from cron)."""
    who = _operator("retention", operator, by, "retention")
    with opened_runtime(db, config) as runtime:
        moment = operator_time(as_of, runtime, "--as-of")
        done = bootstrap(runtime).handle(ApplyRetention(Operator(who), moment, dry_run))
        due, erased = done.due, done.erased
        listed = [item.as_json(runtime.config) for item in due]
    log.info("retention_applied", action="retention", dry_run=dry_run, cases=len(due),
             records=erased)  # fmt: skip
    print_json(
        {
            "as_of": moment.astimezone(runtime.config.timezone).isoformat(),
            "dry_run": dry_run,
            "cases_due": len(due),
            "records_erased": erased,
            "cases": listed,
        }
    )


@commands.command()
def export(
    path: Annotated[str, typer.Argument(help="A new folder to write the export into.")],
    operator: OperatorOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    by: ByAlias = None,
) -> None:
    """Write every event (JSONL, the import format), every table, and the configuration
    and rule files to a new folder, from one consistent snapshot; safe while serving.
    It holds victim data: the folder is readable by you only. Audited."""
    who = _operator("export", operator, by)
    destination = Path(path)
    if destination.exists():
        fail(EXIT_USAGE, f"{destination} already exists; choose a new folder")
    if not destination.parent.is_dir():
        fail(EXIT_USAGE, f"{destination.parent} is not a folder")
    with opened_runtime(db, config) as runtime:
        files = config_file_texts(config or global_options.config)
        manifest = export_database(
            runtime.engine, destination, files, by=who, progress=progress_reporter("export")
        )
    counts = {
        name.removeprefix("tables/").removesuffix(".jsonl"): facts["lines"]
        for name, facts in manifest["files"].items()
        if name.startswith("tables/")
    }
    log.info("export_finished", action="export", events=counts["events"])
    print_json(
        {
            "path": str(destination),
            "exported_at": manifest["exported_at"],
            "schema": manifest["schema_revision"],
            "events": counts["events"],
            "rows": counts,
        }
    )


@commands.command()
def restore(
    path: Annotated[str, typer.Argument(help="A folder written by `casewatch export`.")],
    operator: OperatorOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    by: ByAlias = None,
) -> None:
    """Load an export into an empty database, SQLite or PostgreSQL whichever the export
    came from, then replay every case to prove it identical; whole or nothing. Audited."""
    who = _operator("restore", operator, by)
    source = Path(path)
    if not source.is_dir():
        fail(EXIT_USAGE, f"{source} is not a folder")
    with opened_runtime(db, config) as runtime:
        try:
            summary = restore_database(
                runtime.engine, source, runtime.config.rulesets(), by=who,
                progress=progress_reporter("restore"),
            )  # fmt: skip
        except RestoreError as exc:
            fail(EXIT_REJECTED, str(exc))
    log.info("restore_finished", action="restore", events=summary.rows["events"])
    print_json(
        {
            "path": str(source),
            "exported_at": summary.exported_at,
            "events": summary.rows["events"],
            "rows": dict(summary.rows),
            "cases_checked": summary.cases_checked,
        }
    )
