"""`casewatch case show|list` and `casewatch check`: reading cases, and proving their
stored state is what their events say."""

from __future__ import annotations

from typing import Annotated

import typer
from attrs import asdict
from rich.console import Console

from casewatch.app.case_view import read_case
from casewatch.cases.store import case_exists, iter_case_rows
from casewatch.engine.consistency import check_cases
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    ConfigOption,
    DbOption,
    FormatOption,
    check_format,
    fail,
    opened_runtime,
    operator_time,
    print_json,
    progress_reporter,
)
from casewatch.service.logging import get_logger
from casewatch.service.render import print_case, print_cases, table_console

log = get_logger("casewatch.cli")
commands = typer.Typer()
case_app = typer.Typer(help="Look at cases.", no_args_is_help=True)


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(help="The case reference.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the case as it stood then (ISO date or timestamp)."),
    ] = None,
    output_format: FormatOption = "table",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show a case: risk, flags, SLA cycles and timeline, as of a moment."""
    check_format(output_format, ("table", "json"))
    with opened_runtime(db, config) as runtime:
        moment = operator_time(as_of, runtime, "--as-of")
        with runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            if not case_exists(conn, case_id):
                fail(EXIT_REJECTED, f"case '{case_id}' not found")
            view = read_case(conn, runtime, case_id, moment)
    log.info("case_viewed", action="case_show", case_id=case_id)
    if output_format == "json":
        print_json(asdict(view))
    else:
        print_case(table_console(), asdict(view))


@case_app.command("list")
def case_list(
    team: Annotated[str | None, typer.Option(help="Only this team's cases.")] = None,
    status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
    output_format: FormatOption = "table",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List cases with their current risk level."""
    check_format(output_format, ("table", "json"))
    with opened_runtime(db, config) as runtime:
        tz = runtime.config.timezone
        with runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            rows = list(iter_case_rows(conn, team=team, status=status))
    if output_format == "json":
        print_json(
            [
                {
                    "case_id": r.case_id,
                    "case_type": r.case_type,
                    "team": r.team,
                    "caseworker": r.caseworker,
                    "status": r.status,
                    "risk_level": r.risk_level,
                    "event_count": r.event_count,
                    "last_event_at": r.last_event_at.astimezone(tz).isoformat()
                    if r.last_event_at
                    else None,
                }
                for r in rows
            ]
        )
    else:
        count = print_cases(table_console(), rows)
        Console(stderr=True).print(f"{count} case(s)")


@commands.command()
def check(
    case_ids: Annotated[
        list[str] | None,
        typer.Option("--case", help="Check only this case (repeatable); default: every case."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Replay every case's events and compare with its stored state, cycles and flags.
    Changes nothing; exit 1 if anything differs."""
    with (
        opened_runtime(db, config) as runtime,
        runtime.engine.connect().execution_options(read_only=True) as conn,
        conn.begin(),
    ):
        checked, differences = check_cases(
            conn, runtime.config.rulesets(), case_ids, progress_reporter("check")
        )
    cases = sorted({d.case_id for d in differences})
    log.info("check_finished", action="check", cases=checked, differing=len(cases))
    print_json(
        {
            "cases_checked": checked,
            "cases_with_differences": len(cases),
            "differences": [d.as_json() for d in differences],
        }
    )
    if differences:
        raise typer.Exit(EXIT_REJECTED)
