"""What every command shares: the global options, opening the runtime, exit codes and
failing in words, JSON and file output, and the options several topics take.

Exit codes: 0 success, 1 rejected input or unknown case, 2 usage errors (bad options,
unreadable file), 3 configuration or database unavailable. JSON goes to stdout, logs to
stderr, and no stack trace reaches the user's screen.

The topic modules import this one and the layers below, never each other or the
package root (an import-linter contract), so the command line has no import circle.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from casewatch.cases.clock import TimestampError, parse_operator_time
from casewatch.cases.db import DatabaseUrlError
from casewatch.reports.periods import Period, PeriodError, choose_period
from casewatch.service.config import ConfigError
from casewatch.service.logging import get_logger
from casewatch.service.runtime import DatabaseUnavailableError, Runtime, open_runtime

EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

log = get_logger("casewatch.cli")
T = TypeVar("T")

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
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="Write to this file instead of stdout.")
]


class GlobalOptions:
    """`casewatch --db URL --config DIR COMMAND`: given before the command, they apply
    when the command's own are not given."""

    db: str | None = None
    config: str | None = None


global_options = GlobalOptions()


@contextmanager
def opened_runtime(
    db: str | None, config: str | None, *, migrate: bool = False
) -> Iterator[Runtime]:
    runtime = _guard(
        lambda: open_runtime(
            db or global_options.db, config or global_options.config, migrate=migrate
        )
    )
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def _guard(build: Callable[[], T]) -> T:
    try:
        return build()
    except (ConfigError, DatabaseUrlError) as exc:
        fail(EXIT_UNAVAILABLE if isinstance(exc, ConfigError) else EXIT_USAGE, str(exc))
    except DatabaseUnavailableError as exc:
        fail(EXIT_UNAVAILABLE, str(exc))


def fail(code: int, message: str) -> NoReturn:
    typer.echo(f"casewatch: {message}", err=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def write_out(content: bytes, output: Path | None) -> None:
    """A report's bytes to --output, or to stdout without it; a file that cannot be
    written is a usage error in the operating system's words."""
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(EXIT_USAGE, f"cannot write {output}: {exc.strerror or exc}")


def check_format(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise typer.BadParameter(f"must be one of {', '.join(allowed)}", param_hint="--format")


def chosen_period(period: str | None, date_from: str | None, date_to: str | None) -> Period:
    """The period of --period or --from/--to, refused in the options' own names."""
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


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def operator_time(value: str | None, runtime: Runtime, option: str) -> datetime:
    """A moment an operator typed (local time unless it has an offset); now without one."""
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_operator_time(value, runtime.config.timezone)
    except TimestampError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def progress_reporter(action: str = "import") -> Callable[[str, int], None]:
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
