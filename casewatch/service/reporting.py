"""Building a PSG report from the configured database and writing it out: one format to
a file or stdout, or the whole board pack to a folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from attrs import frozen
from sqlalchemy import func, select

from casewatch.engine.tables import SlaCycleRow
from casewatch.reports.board import ReportRequest, ReportSetup, psg_report
from casewatch.reports.case_reviews import case_review_report, public_json
from casewatch.reports.formats import measures_csv, misses_csv, sla_csv
from casewatch.reports.periods import Period, default_period
from casewatch.service.runtime import Runtime

FORMATS: Final = ("json", "csv", "html", "png", "xlsx")
BINARY_FORMATS: Final = ("png", "xlsx")
CHARTED_FORMATS: Final = ("html", "png", "xlsx")
DETAILED_FORMATS: Final = ("html", "xlsx")  # the drill-down is part of the page and book


def landing_period(runtime: Runtime, now: datetime) -> tuple[Period, str]:
    """The period a report page shows when none is asked for, and the words saying why."""
    tz = runtime.config.timezone
    with runtime.engine.connect() as conn:
        latest = conn.execute(
            select(func.max(SlaCycleRow.started_at)).where(
                SlaCycleRow.outcome.is_not(None), SlaCycleRow.started_at <= now
            )
        ).scalar_one_or_none()
    if isinstance(latest, str):  # SQLite's MAX loses the column type: naive UTC text
        latest = datetime.fromisoformat(latest)
    if isinstance(latest, datetime) and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    decided = latest.astimezone(tz).date() if isinstance(latest, datetime) else None
    return default_period(now.astimezone(tz).date(), decided)


def build_report(runtime: Runtime, request: ReportRequest) -> dict[str, Any]:
    config = runtime.config
    setup = ReportSetup(config.policies, config.rulesets(), config.measures, config.timezone)
    with runtime.engine.connect() as conn, conn.begin():
        return psg_report(conn, setup, request)


def build_case_review_report(runtime: Runtime, request: ReportRequest) -> dict[str, Any]:
    """The ASB case review figures of the request's period, as of its `as_of`."""
    config = runtime.config
    with runtime.engine.connect() as conn, conn.begin():
        return case_review_report(
            conn,
            policies=config.policies,
            rulesets=config.rulesets(),
            date_from=request.period.first,
            date_to=request.period.last,
            as_of=request.as_of,
            tz=config.timezone,
        )


CASE_REVIEW_FORMATS: Final = ("json", "csv", "html")


def render_case_reviews(
    report: Mapping[str, Any], output_format: str, label: str | None = None
) -> bytes:
    """JSON exactly as the contract has it; CSV and HTML fit to publish."""
    # Jinja2 is start-up the SLA report does not need: imported by the renders using it.
    from casewatch.reports.case_review_formats import (  # noqa: PLC0415
        case_review_csv,
        case_review_html,
    )

    if output_format == "csv":
        return case_review_csv(report).encode()
    if output_format == "html":
        return case_review_html(report, label).encode()
    return (json.dumps(public_json(report), ensure_ascii=False, indent=2) + "\n").encode()


def render(
    report: Mapping[str, Any], by: str | None, output_format: str, *, pretty: bool = False
) -> bytes:
    if output_format == "csv":
        return sla_csv(report, by).encode()
    # matplotlib and openpyxl cost a noticeable start-up: only the renders that need them
    # import them.
    if output_format in ("html", "png"):
        from casewatch.reports.render import report_html, trend_png  # noqa: PLC0415

        return report_html(report, by).encode() if output_format == "html" else trend_png(report)
    if output_format == "xlsx":
        from casewatch.reports.xlsx import report_xlsx  # noqa: PLC0415

        return report_xlsx(report, by)
    # Indented JSON is for a person at a terminal; files and pipes get compact JSON, which
    # the C encoder writes several times faster (a drill-down can hold 100,000s of rows).
    return (json.dumps(report, ensure_ascii=False, indent=2 if pretty else None) + "\n").encode()


@frozen
class PackWhatif:
    """A what-if to add to the board pack: its section on the page and its own files."""

    whatif: Mapping[str, Any]
    by: str | None
    titles: Mapping[str, str]


def pack_files(
    report: Mapping[str, Any],
    by: str | None,
    case_reviews: Mapping[str, Any] | None = None,
    whatif: PackWhatif | None = None,
) -> dict[str, Callable[[], bytes]]:
    """The board pack: file name -> how to make it, in the order they are written; with
    the ASB case review section when its report is given, and the what-if when asked."""
    from casewatch.reports.render import (  # noqa: PLC0415 - as above
        report_html,
        trend_png,
        whatif_fragment,
    )

    chart: list[bytes] = []  # drawn once, for the page and the PNG file

    def png() -> bytes:
        if not chart:
            chart.append(trend_png(report))
        return chart[0]

    section = whatif_fragment(whatif.whatif, whatif.by, whatif.titles) if whatif else None
    files: dict[str, Callable[[], bytes]] = {
        "sla-by-quarter.png": png,
        "report.html": lambda: report_html(report, by, png(), section).encode(),
        "report.xlsx": lambda: render(report, by, "xlsx"),
        "sla.csv": lambda: sla_csv(report, by).encode(),
        "measures.csv": lambda: measures_csv(report).encode(),
        "misses.csv": lambda: misses_csv(report).encode(),
        "report.json": lambda: render(report, by, "json"),
    }
    if case_reviews is not None:
        label = report.get("period")
        for kind in ("html", "csv", "json"):
            files[f"case-reviews.{kind}"] = _case_review_file(case_reviews, kind, label)
    if whatif is not None:
        for fmt in ("html", "csv", "json"):
            files[f"whatif.{fmt}"] = _whatif_file(whatif, fmt)
    return files


def _case_review_file(
    report: Mapping[str, Any], kind: str, label: str | None
) -> Callable[[], bytes]:
    return lambda: render_case_reviews(report, kind, label)


def _whatif_file(whatif: PackWhatif, fmt: str) -> Callable[[], bytes]:
    from casewatch.service.whatif import render_whatif  # noqa: PLC0415 - a replay's imports

    return lambda: render_whatif(whatif.whatif, whatif.by, fmt, whatif.titles)


def write_pack(
    report: Mapping[str, Any],
    by: str | None,
    folder: Path,
    progress: Callable[[str], None],
    case_reviews: Mapping[str, Any] | None = None,
    *,
    whatif: PackWhatif | None = None,
) -> list[Path]:
    """Write every file of the pack into `folder` (created if need be). Each file is
    written beside its final name and renamed, so a reader never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in pack_files(report, by, case_reviews, whatif).items():
        progress(name)
        target = folder / name
        partial = folder / f".{name}.partial"
        partial.write_bytes(make())
        partial.replace(target)
        written.append(target)
    return written
