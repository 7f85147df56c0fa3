"""`casewatch whatif`: a period's SLA report under a proposed configuration, beside the
report as it reads now."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from casewatch.reports.whatif import GROUPINGS, Period, ProposalRefusedError
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    AsOfOption,
    DbOption,
    FromOption,
    OutputOption,
    PeriodOption,
    ToOption,
    check_format,
    chosen_period,
    global_options,
    opened_runtime,
    operator_time,
    print_json,
    write_out,
)
from casewatch.service.config import ConfigError
from casewatch.service.logging import get_logger
from casewatch.service.whatif import FORMATS, load_proposal, render_whatif, run_whatif, titles

log = get_logger("casewatch.cli")
commands = typer.Typer()


@commands.command()
def whatif(
    config_dir: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Folder of proposed configuration files (policies.yaml, settings.yaml, …), "
            "laid over the ones in force: a file left out keeps the one in force.",
            show_default=False,
        ),
    ] = None,
    rules_dir: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Folder of proposed rule files, replacing same-named ones and adding others.",
            show_default=False,
        ),
    ] = None,
    period: PeriodOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_of: AsOfOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help=f"Break down by {' or '.join(GROUPINGS)}.")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")
    ] = "json",
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """What a period's SLA report would have read under a proposed configuration: current
    and proposed figures, the change and every cycle whose outcome flips. Writes nothing.

    The configuration in force is the usual one (casewatch --config DIR, or
    $CASEWATCH_CONFIG_DIR); this command's --config names the proposal."""
    if config_dir is None and rules_dir is None:
        raise typer.BadParameter(
            "give the proposal: --config DIR, --rules DIR or both", param_hint="--config/--rules"
        )
    for folder, option in ((config_dir, "--config"), (rules_dir, "--rules")):
        if folder is not None and not folder.is_dir():
            raise typer.BadParameter(f"{folder} is not a folder", param_hint=option)
    check_format(output_format, FORMATS)
    if by is not None and by not in GROUPINGS:
        raise typer.BadParameter(f"must be one of {', '.join(GROUPINGS)}", param_hint="--by")
    chosen = chosen_period(period, date_from, date_to)
    with opened_runtime(db, None) as runtime:
        moment = operator_time(as_of, runtime, "--as-of")
        try:
            loaded = load_proposal(
                runtime.config,
                global_options.config,
                str(config_dir) if config_dir else None,
                str(rules_dir) if rules_dir else None,
            )
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            _refuse(getattr(exc, "problems", None) or [str(exc)])
        try:
            result = run_whatif(runtime, loaded, Period(chosen.first, chosen.last, moment, by))
        except ProposalRefusedError as exc:
            _refuse(exc.problems)
    log.info("whatif_run", action="whatif", entries=len(result["slas"]))
    content = render_whatif(
        result,
        by,
        output_format,
        titles(runtime.config, loaded.config),
        pretty=output is None and sys.stdout.isatty(),
    )
    write_out(content, output)


def _refuse(problems: list[str]) -> NoReturn:
    """An invalid proposal: every problem, in `rules check`'s words, on stdout as JSON for
    scripts and on stderr for the person; exit 1 with nothing run."""
    print_json({"problems": problems})
    typer.echo("casewatch: the proposal cannot be used:", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(EXIT_REJECTED)
