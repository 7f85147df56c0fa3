"""The `casewatch` command: the typer app built from the topic modules, and the entry
point that keeps stack traces off the user's screen.

Commands are listed in `casewatch --help` in the order they are added here.
"""

from __future__ import annotations

import os
import sys

import typer

from casewatch.service.cli import cases, data, loading, reports, rules, scheduling, web, whatif
from casewatch.service.cli.shared import EXIT_UNAVAILABLE, ConfigOption, DbOption, global_options
from casewatch.service.logging import configure_logging, get_logger

log = get_logger("casewatch.cli")

app = typer.Typer(
    name="casewatch",
    help="Case and SLA engine for Community Safety Partnerships.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for topic in (loading, scheduling, cases, data, web, whatif):
    app.add_typer(topic.commands)  # no name: its commands join the top level
app.add_typer(cases.case_app, name="case")
app.add_typer(reports.report_app, name="report")
app.add_typer(rules.rules_app, name="rules")
app.add_typer(scheduling.alerts_app, name="alerts")
app.add_typer(web.users_app, name="users")


@app.callback()
def _root(db: DbOption = None, config: ConfigOption = None) -> None:
    configure_logging()  # logs belong on stderr: stdout is for the command's JSON
    global_options.db, global_options.config = db, config


def main() -> None:
    configure_logging()
    try:
        app()
    except KeyboardInterrupt:
        typer.echo(
            "casewatch: interrupted; nothing from an unfinished import was applied", err=True
        )
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        # Unexpected: record the kind of failure (never its data) and say so plainly.
        # No traceback: its frames may hold victim data. Debug runs re-raise instead.
        if os.environ.get("CASEWATCH_LOG_LEVEL", "").upper() == "DEBUG":
            raise
        log.error("internal_error", action="cli", error_type=type(exc).__name__)  # noqa: TRY400
        typer.echo(
            f"casewatch: internal error ({type(exc).__name__}); nothing was half-applied. "
            "Set CASEWATCH_LOG_LEVEL=DEBUG and report the case references involved.",
            err=True,
        )
        sys.exit(EXIT_UNAVAILABLE)
