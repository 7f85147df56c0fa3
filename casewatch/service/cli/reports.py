"""`casewatch report sla|case-reviews|pack`: the reports for problem-solving groups, to
stdout, a file or a board-pack folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from casewatch.reports.board import COMPARISONS, ReportRequest
from casewatch.reports.periods import Period
from casewatch.reports.sla import GROUPINGS
from casewatch.reports.whatif import GROUPINGS as WHATIF_GROUPINGS
from casewatch.reports.whatif import Period as WhatifPeriod
from casewatch.reports.whatif import ProposalRefusedError
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    EXIT_USAGE,
    AsOfOption,
    ConfigOption,
    DbOption,
    FromOption,
    OutputOption,
    PeriodOption,
    ToOption,
    check_format,
    chosen_period,
    fail,
    global_options,
    opened_runtime,
    operator_time,
    print_json,
    write_out,
)
from casewatch.service.config import ConfigError
from casewatch.service.logging import get_logger
from casewatch.service.reporting import (
    BINARY_FORMATS,
    CASE_REVIEW_FORMATS,
    CHARTED_FORMATS,
    DETAILED_FORMATS,
    FORMATS,
    PackWhatif,
    build_case_review_report,
    build_report,
    render,
    render_case_reviews,
    write_pack,
)
from casewatch.service.runtime import Runtime
from casewatch.service.whatif import load_proposal, run_whatif, titles

log = get_logger("casewatch.cli")
report_app = typer.Typer(help="Reports for problem-solving groups.", no_args_is_help=True)

ByOption = Annotated[
    str | None,
    typer.Option("--by", help=f"Break down by {', '.join(GROUPINGS)}; totals are added."),
]


@report_app.command("sla")
def report_sla(
    period: PeriodOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_of: AsOfOption = None,
    by: ByOption = None,
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="previous: add the previous period and the trend."),
    ] = None,
    details: Annotated[
        bool | None,
        typer.Option(
            "--details/--no-details",
            help="List every breached and excluded cycle (misses); "
            "the default for html and xlsx, not for json, csv and png.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")
    ] = "json",
    output: OutputOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """SLA performance of the cycles started in a period: met, breached, %, RAG, reasons,
    partnership measures and, with --details, every miss."""
    check_format(output_format, FORMATS)
    if output is None and output_format in BINARY_FORMATS and sys.stdout.isatty():
        raise typer.BadParameter(
            f"a {output_format} report is a binary file: give --output PATH or redirect stdout",
            param_hint="--output",
        )
    chosen = chosen_period(period, date_from, date_to)
    with opened_runtime(db, config) as runtime:
        request = _report_request(
            runtime,
            chosen,
            as_of=as_of,
            by=by,
            compare=compare,
            details=output_format in DETAILED_FORMATS if details is None else details,
            quarters=output_format in CHARTED_FORMATS,
        )
        report = build_report(runtime, request)
    log.info("report_built", action="report_sla", entries=len(report["slas"]))
    content = render(
        report, request.by, output_format, pretty=output is None and sys.stdout.isatty()
    )
    write_out(content, output)


@report_app.command("case-reviews")
def report_case_reviews(
    period: PeriodOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_of: AsOfOption = None,
    output_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(CASE_REVIEW_FORMATS)}.")
    ] = "json",
    output: OutputOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """ASB case reviews in a period: applications, threshold not met, reviews held and with
    recommendations (the figures to publish), each stage's timeliness, recommendations
    open and overdue, appeals. CSV and HTML hold no case reference: fit to publish."""
    check_format(output_format, CASE_REVIEW_FORMATS)
    chosen = chosen_period(period, date_from, date_to)
    with opened_runtime(db, config) as runtime:
        request = _report_request(runtime, chosen, as_of=as_of, by=None, compare=None)
        report = build_case_review_report(runtime, request)
    log.info("report_built", action="report_case_reviews", applications=report["applications"])
    content = render_case_reviews(report, output_format, chosen.label)
    write_out(content, output)


@report_app.command("pack")
def report_pack(
    period: PeriodOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_of: AsOfOption = None,
    by: ByOption = None,
    compare: Annotated[
        str,
        typer.Option("--compare", help="previous (the default) or none."),
    ] = "previous",
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Folder to write (default: ./board-pack-PERIOD)."),
    ] = None,
    whatif_dir: Annotated[
        Path | None,
        typer.Option(
            "--whatif",
            help="A folder of proposed configuration and rule files: adds a what-if section "
            "to the page and whatif.html/csv/json to the pack (see casewatch whatif).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The board pack: the HTML page, the chart, the XLSX workbook and the CSVs, in one go."""
    if whatif_dir is not None and not whatif_dir.is_dir():
        raise typer.BadParameter(f"{whatif_dir} is not a folder", param_hint="--whatif")
    chosen = chosen_period(period, date_from, date_to)
    folder = output or Path(f"board-pack-{chosen.label.replace(' ', '_')}")
    errors = Console(stderr=True)
    with opened_runtime(db, config) as runtime:
        request = _report_request(
            runtime,
            chosen,
            as_of=as_of,
            by=by,
            compare=None if compare == "none" else compare,
            quarters=True,
        )
        errors.print(f"building the report for {chosen.label}")
        report = build_report(runtime, request)
        case_reviews = build_case_review_report(runtime, request)
        whatif = None
        if whatif_dir is not None:
            errors.print(f"replaying {chosen.label} under {whatif_dir}")
            whatif = _pack_whatif(runtime, config, whatif_dir, request)
    try:
        written = write_pack(
            report,
            request.by,
            folder,
            lambda name: errors.print(f"writing {name}"),
            case_reviews,
            whatif=whatif,
        )
    except OSError as exc:
        fail(EXIT_USAGE, f"cannot write the pack to {folder}: {exc.strerror or exc}")
    log.info("pack_written", action="report_pack", files=len(written))
    print_json({"period": chosen.label, "folder": str(folder), "files": [p.name for p in written]})


def _pack_whatif(
    runtime: Runtime, config: str | None, folder: Path, request: ReportRequest
) -> PackWhatif:
    """The board pack's what-if: the folder laid over the configuration in force, as
    `casewatch whatif --config DIR --rules DIR` reads it; refused whole (exit 1) if the
    proposal is invalid."""
    try:
        loaded = load_proposal(
            runtime.config, config or global_options.config, str(folder), str(folder)
        )
        by = request.by if request.by in WHATIF_GROUPINGS else None
        period = WhatifPeriod(request.period.first, request.period.last, request.as_of, by)
        result = run_whatif(runtime, loaded, period)
    except (ConfigError, ProposalRefusedError, OSError, UnicodeDecodeError) as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        fail(EXIT_REJECTED, "the what-if proposal cannot be used:\n  " + "\n  ".join(problems))
    return PackWhatif(result, by, titles(runtime.config, loaded.config))


def _report_request(
    runtime: Runtime,
    period: Period,
    *,
    as_of: str | None,
    by: str | None,
    compare: str | None,
    **rest: bool,
) -> ReportRequest:
    """The request both report commands make from their shared options, each checked
    with the option's own message."""
    return ReportRequest(
        period=period,
        as_of=operator_time(as_of, runtime, "--as-of"),
        by=_grouping(by),
        compare=_comparison(compare),
        **rest,
    )


def _grouping(by: str | None) -> str | None:
    if by is not None and by not in GROUPINGS:
        raise typer.BadParameter(f"must be one of {', '.join(GROUPINGS)}", param_hint="--by")
    return by


def _comparison(compare: str | None) -> str | None:
    if compare is not None and compare not in COMPARISONS:
        raise typer.BadParameter(f"must be one of {', '.join(COMPARISONS)}", param_hint="--compare")
    return compare
