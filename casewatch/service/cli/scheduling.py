"""`casewatch tick`, `casewatch worker` and `casewatch alerts list`: the scheduled
checks, once or until stopped, and the alerts they recorded."""

from __future__ import annotations

from typing import Annotated

import typer

from casewatch.cases.store import case_exists
from casewatch.notifications.inbox import list_alerts
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
)
from casewatch.service.logging import get_logger
from casewatch.service.render import print_alerts, table_console
from casewatch.service.runtime import run_tick

log = get_logger("casewatch.cli")
commands = typer.Typer()
alerts_app = typer.Typer(help="Warning, breach and escalation alerts.", no_args_is_help=True)


@commands.command()
def tick(
    now: Annotated[
        str | None, typer.Option("--now", help="Check as if it were this moment (default: now).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """One scheduled check: record alerts that fell due, queue and deliver notifications."""
    with opened_runtime(db, config) as runtime:
        moment = operator_time(now, runtime, "--now")
        summary = run_tick(runtime, moment)
    log.info("tick", action="tick", **{k: v for k, v in summary.items() if k != "now"})
    print_json(summary)


@commands.command()
def worker(
    scan_every: Annotated[
        float, typer.Option("--scan-every", help="Seconds between SLA scans.")
    ] = 60.0,
    relay_every: Annotated[
        float, typer.Option("--relay-every", help="Seconds between outbox deliveries.")
    ] = 10.0,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the scheduler (SLA scan and outbox relay) until stopped; several may share a
    PostgreSQL database."""
    if scan_every <= 0 or relay_every <= 0:
        raise typer.BadParameter("intervals must be positive", param_hint="--scan-every")
    with opened_runtime(db, config) as runtime:
        from casewatch.service.worker import run_worker  # noqa: PLC0415 - APScheduler: worker only

        run_worker(runtime, scan_every, relay_every)


@alerts_app.command("list")
def alerts_list(
    case_id: Annotated[str | None, typer.Option("--case", help="Only this case's alerts.")] = None,
    output_format: FormatOption = "json",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Alerts recorded: level, when it fell due, who hears, delivered, superseded."""
    check_format(output_format, ("table", "json"))
    with (
        opened_runtime(db, config) as runtime,
        runtime.engine.connect().execution_options(read_only=True) as conn,
        conn.begin(),
    ):
        if case_id is not None and not case_exists(conn, case_id):
            fail(EXIT_REJECTED, f"case '{case_id}' not found")
        alerts = list_alerts(conn, runtime.config.timezone, case_id)
    if output_format == "json":
        print_json(alerts)
    else:
        print_alerts(table_console(), alerts)
