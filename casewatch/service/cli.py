"""The `casewatch` command line (contract section 2).

Exit codes: 0 success, 1 rejected input or unknown case, 2 usage errors (bad options,
unreadable file), 3 configuration or database unavailable. JSON goes to stdout, logs to
stderr, and no stack trace reaches the user's screen.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn, TypeVar

import typer
from attrs import asdict
from rich.console import Console

from casewatch.app.case_view import read_case
from casewatch.cases.clock import TimestampError, parse_operator_time
from casewatch.cases.db import DatabaseUrlError
from casewatch.cases.importing import Importer
from casewatch.cases.store import case_exists, iter_case_rows
from casewatch.engine.consistency import check_cases
from casewatch.engine.repair import apply_repair, plan_repair
from casewatch.migrations.schema import head_revision
from casewatch.notifications.inbox import list_alerts
from casewatch.reports.board import COMPARISONS, ReportRequest
from casewatch.reports.periods import Period, PeriodError, choose_period
from casewatch.reports.sla import GROUPINGS
from casewatch.reports.whatif import GROUPINGS as WHATIF_GROUPINGS
from casewatch.reports.whatif import Period as WhatifPeriod
from casewatch.reports.whatif import ProposalRefusedError
from casewatch.service.config import ConfigError, check_rules
from casewatch.service.logging import configure_logging, get_logger
from casewatch.service.render import print_alerts, print_case, print_cases, table_console
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
from casewatch.service.runtime import DatabaseUnavailableError, Runtime, open_runtime, run_tick
from casewatch.service.whatif import load_proposal, run_whatif, titles

EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

log = get_logger("casewatch.cli")
T = TypeVar("T")

app = typer.Typer(
    name="casewatch",
    help="Case and SLA engine for Community Safety Partnerships.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
case_app = typer.Typer(help="Look at cases.", no_args_is_help=True)
app.add_typer(case_app, name="case")
report_app = typer.Typer(help="Reports for problem-solving groups.", no_args_is_help=True)
app.add_typer(report_app, name="report")
rules_app = typer.Typer(help="Rule and policy files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
alerts_app = typer.Typer(help="Warning, breach and escalation alerts.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $CASEWATCH_DATABASE_URL, else sqlite:///casewatch.db).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="Folder of configuration files overriding the shipped ones "
        "(default: $CASEWATCH_CONFIG_DIR).",
        show_default=False,
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table (for people) or json.")]


class _Globals:
    db: str | None = None
    config: str | None = None


_globals = _Globals()


@app.callback()
def _root(db: DbOption = None, config: ConfigOption = None) -> None:
    configure_logging()  # logs belong on stderr: stdout is for the command's JSON
    _globals.db, _globals.config = db, config


@contextmanager
def _runtime(db: str | None, config: str | None, *, migrate: bool = False) -> Iterator[Runtime]:
    runtime = _guard(
        lambda: open_runtime(db or _globals.db, config or _globals.config, migrate=migrate)
    )
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def _guard(build: Callable[[], T]) -> T:
    try:
        return build()
    except (ConfigError, DatabaseUrlError) as exc:
        _fail(EXIT_UNAVAILABLE if isinstance(exc, ConfigError) else EXIT_USAGE, str(exc))
    except DatabaseUnavailableError as exc:
        _fail(EXIT_UNAVAILABLE, str(exc))


def _fail(code: int, message: str) -> NoReturn:
    typer.echo(f"casewatch: {message}", err=True)
    raise typer.Exit(code)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _write_out(content: bytes, output: Path | None) -> None:
    """A report's bytes to --output, or to stdout without it; a file that cannot be
    written is a usage error in the operating system's words."""
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        _fail(EXIT_USAGE, f"cannot write {output}: {exc.strerror or exc}")


@app.command()
def init(db: DbOption = None, config: ConfigOption = None) -> None:
    """Create the database, or migrate it to the current schema (safe to repeat)."""
    with _runtime(db, config, migrate=True) as runtime:
        log.info("database_ready", action="init", database=runtime.safe_url, schema=head_revision())
        _print_json({"database": runtime.safe_url, "schema": head_revision()})


@app.command("import")
def import_events(
    path: Annotated[str, typer.Argument(help="JSONL file of events, or - for standard input.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate a JSONL file of events and apply it whole, or not at all."""
    stream = _open_input(path)
    with stream, _runtime(db, config) as runtime:
        importer = Importer(
            runtime.engine,
            runtime.config.validator(),
            projectors=runtime.projectors(),
            progress=_progress_reporter(),
        )
        try:
            summary = importer.run(stream, source="stdin" if path == "-" else path)
        except OSError as exc:
            _fail(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}")
    log.info(
        "import_finished",
        action="import",
        read=summary.read,
        applied=summary.applied,
        duplicates=summary.duplicates,
        rejected=summary.rejected,
    )
    _print_json(summary.as_json())
    if summary.rejected:
        raise typer.Exit(EXIT_REJECTED)


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
    _check_format(output_format, ("table", "json"))
    with _runtime(db, config) as runtime:
        moment = _operator_time(as_of, runtime, "--as-of")
        with runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            if not case_exists(conn, case_id):
                _fail(EXIT_REJECTED, f"case '{case_id}' not found")
            view = read_case(conn, runtime, case_id, moment)
    log.info("case_viewed", action="case_show", case_id=case_id)
    if output_format == "json":
        _print_json(asdict(view))
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
    _check_format(output_format, ("table", "json"))
    with _runtime(db, config) as runtime:
        tz = runtime.config.timezone
        with runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            rows = list(iter_case_rows(conn, team=team, status=status))
    if output_format == "json":
        _print_json(
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


PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="A financial-year quarter (2014-Q1 = April to June 2014) or year (FY2014); "
        "instead of --from/--to.",
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day of the period, inclusive.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Count as things stood then (default: now).")
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help=f"Break down by {', '.join(GROUPINGS)}; totals are added."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="Write to this file instead of stdout.")
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
    _check_format(output_format, FORMATS)
    if output is None and output_format in BINARY_FORMATS and sys.stdout.isatty():
        raise typer.BadParameter(
            f"a {output_format} report is a binary file: give --output PATH or redirect stdout",
            param_hint="--output",
        )
    chosen = _period(period, date_from, date_to)
    with _runtime(db, config) as runtime:
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
    _write_out(content, output)


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
    _check_format(output_format, CASE_REVIEW_FORMATS)
    chosen = _period(period, date_from, date_to)
    with _runtime(db, config) as runtime:
        request = _report_request(runtime, chosen, as_of=as_of, by=None, compare=None)
        report = build_case_review_report(runtime, request)
    log.info("report_built", action="report_case_reviews", applications=report["applications"])
    content = render_case_reviews(report, output_format, chosen.label)
    _write_out(content, output)


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
    chosen = _period(period, date_from, date_to)
    folder = output or Path(f"board-pack-{chosen.label.replace(' ', '_')}")
    errors = Console(stderr=True)
    with _runtime(db, config) as runtime:
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
        _fail(EXIT_USAGE, f"cannot write the pack to {folder}: {exc.strerror or exc}")
    log.info("pack_written", action="report_pack", files=len(written))
    _print_json({"period": chosen.label, "folder": str(folder), "files": [p.name for p in written]})


def _pack_whatif(
    runtime: Runtime, config: str | None, folder: Path, request: ReportRequest
) -> PackWhatif:
    """The board pack's what-if: the folder laid over the configuration in force, as
    `casewatch whatif --config DIR --rules DIR` reads it; refused whole (exit 1) if the
    proposal is invalid."""
    try:
        loaded = load_proposal(runtime.config, config or _globals.config, str(folder), str(folder))
        by = request.by if request.by in WHATIF_GROUPINGS else None
        period = WhatifPeriod(request.period.first, request.period.last, request.as_of, by)
        result = run_whatif(runtime, loaded, period)
    except (ConfigError, ProposalRefusedError, OSError, UnicodeDecodeError) as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        _fail(EXIT_REJECTED, "the what-if proposal cannot be used:\n  " + "\n  ".join(problems))
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
        as_of=_operator_time(as_of, runtime, "--as-of"),
        by=_grouping(by),
        compare=_comparison(compare),
        **rest,
    )


def _period(period: str | None, date_from: str | None, date_to: str | None) -> Period:
    first = _date(date_from, "--from") if date_from is not None else None
    last = _date(date_to, "--to") if date_to is not None else None
    try:
        return choose_period(period, first, last)
    except PeriodError as exc:
        hint = "--period" if period is not None or first is None or last is None else "--to"
        raise typer.BadParameter(_as_options(str(exc)), param_hint=hint) from None


def _as_options(message: str) -> str:
    """The period's wording in the CLI's own option names."""
    return (
        message.replace("a period or a from/to range", "--period or --from/--to")
        .replace("a period (e.g.", "--period (e.g.")
        .replace("both from and to dates", "both --from and --to")
        .replace("the 'to' date is before the 'from' date", "--to is before --from")
    )


def _grouping(by: str | None) -> str | None:
    if by is not None and by not in GROUPINGS:
        raise typer.BadParameter(f"must be one of {', '.join(GROUPINGS)}", param_hint="--by")
    return by


def _comparison(compare: str | None) -> str | None:
    if compare is not None and compare not in COMPARISONS:
        raise typer.BadParameter(f"must be one of {', '.join(COMPARISONS)}", param_hint="--compare")
    return compare


@app.command()
def tick(
    now: Annotated[
        str | None, typer.Option("--now", help="Check as if it were this moment (default: now).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """One scheduled check: record alerts that fell due, queue and deliver notifications."""
    with _runtime(db, config) as runtime:
        moment = _operator_time(now, runtime, "--now")
        summary = run_tick(runtime, moment)
    log.info("tick", action="tick", **{k: v for k, v in summary.items() if k != "now"})
    _print_json(summary)


@app.command()
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
    with _runtime(db, config) as runtime:
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
    _check_format(output_format, ("table", "json"))
    with (
        _runtime(db, config) as runtime,
        runtime.engine.connect().execution_options(read_only=True) as conn,
        conn.begin(),
    ):
        if case_id is not None and not case_exists(conn, case_id):
            _fail(EXIT_REJECTED, f"case '{case_id}' not found")
        alerts = list_alerts(conn, runtime.config.timezone, case_id)
    if output_format == "json":
        _print_json(alerts)
    else:
        print_alerts(table_console(), alerts)


@app.command()
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
        _runtime(db, config) as runtime,
        runtime.engine.connect().execution_options(read_only=True) as conn,
        conn.begin(),
    ):
        checked, differences = check_cases(
            conn, runtime.config.rulesets(), case_ids, _progress_reporter("check")
        )
    cases = sorted({d.case_id for d in differences})
    log.info("check_finished", action="check", cases=checked, differing=len(cases))
    _print_json(
        {
            "cases_checked": checked,
            "cases_with_differences": len(cases),
            "differences": [d.as_json() for d in differences],
        }
    )
    if differences:
        raise typer.Exit(EXIT_REJECTED)


@rules_app.command("check")
def rules_check(
    path: Annotated[
        str | None,
        typer.Argument(help="A rule file, a policies.yaml, or a folder of them (default: in use)."),
    ] = None,
    output_format: FormatOption = "table",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate rule and policy files; print each problem with its file and line.

    Reads files only; --db is accepted, like every command's, and not used."""
    del db
    _check_format(output_format, ("table", "json"))
    if path is not None and not Path(path).exists():
        _fail(EXIT_USAGE, f"cannot read {path}: no such file or folder")
    try:
        result = check_rules(path, config or _globals.config)
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        _fail(EXIT_USAGE, f"cannot read the rule files: {exc}")
    if output_format == "json":
        _print_json(
            {
                "files": result.files,
                "rules": result.rules,
                "policies": result.policies,
                "version": result.version,
                "problems": result.problems,
                "matcher": result.matcher,
            }
        )
    else:
        for problem in result.problems:
            typer.echo(problem)
        verdict = f"{len(result.problems)} problem(s)" if result.problems else "ok"
        typer.echo(
            f"{verdict}: {result.rules} rules, {result.policies} policies in "
            f"{len(result.files)} files (version {result.version or '-'}); "
            f"matcher: {result.matcher}"
        )
    if result.problems:
        raise typer.Exit(EXIT_REJECTED)


@rules_app.command("repair")
def rules_repair(
    policy: Annotated[str, typer.Option("--policy", help="The policy whose cases to repair.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only cases with events on or after this date.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Re-derive cases pinned to an older ruleset under the current one (audited)."""
    with _runtime(db, config) as runtime:
        if policy not in runtime.config.policies.ids:
            raise typer.BadParameter(
                f"unknown policy (policies: {', '.join(runtime.config.policies.ids)})",
                param_hint="--policy",
            )
        moment = _operator_time(since, runtime, "--since") if since else None
        rulesets = runtime.config.rulesets()
        with runtime.engine.connect() as conn, conn.begin():
            plan, derivations = plan_repair(conn, rulesets, policy, moment)
            if not dry_run:
                apply_repair(conn, rulesets, plan, derivations)
    log.info(
        "rules_repair",
        action="rules_repair",
        policy=policy,
        applied=not dry_run,
        cases=len(plan.cases),
        cycles_changed=len(plan.changes),
    )
    _print_json(plan.as_json(applied=not dry_run))


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def _check_format(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise typer.BadParameter(f"must be one of {', '.join(allowed)}", param_hint="--format")


def _operator_time(value: str | None, runtime: Runtime, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_operator_time(value, runtime.config.timezone)
    except TimestampError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return Path(path).open("rb")
    except OSError as exc:
        _fail(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}")


def _progress_reporter(action: str = "import") -> Callable[[str, int], None]:
    """Progress on long work: a live line on a terminal, a log event every 100,000 items
    otherwise."""
    interactive = sys.stderr.isatty()
    last_logged: dict[str, int] = {}

    def report(phase: str, count: int) -> None:
        if interactive:
            sys.stderr.write(f"\r{phase}: {count:,}   ")
            sys.stderr.flush()
        elif count - last_logged.get(phase, 0) >= 100_000:
            last_logged[phase] = count
            log.info(f"{action}_progress", action=action, phase=phase, count=count)

    return report


# The web and data-protection commands live apart, registered here: the other commands do
# not import the web framework.
from casewatch.service import cli_data, cli_web, cli_whatif  # noqa: E402, F401 - registers them


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
