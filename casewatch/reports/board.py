"""The PSG report: the SLA report of a period with the partnership measures, the
previous period beside it, the quarterly trend and the drill-down of every miss.

Everything here is assembled from `sla_report` and `measure_values`; the renderings
(CSV, HTML, PNG, XLSX, the board pack) all read the one dictionary this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import Connection

from casewatch.engine.policies import PolicyCatalogue
from casewatch.engine.store import Rulesets
from casewatch.reports.arithmetic import Direction, trend
from casewatch.reports.counts import Window
from casewatch.reports.measures import Measure, measure_values
from casewatch.reports.periods import Period, previous, year_to_date
from casewatch.reports.sla import period_bounds, sla_report

COMPARISONS: Final = ("previous",)
_KEPT_FROM_BEFORE: Final = ("cohort", "met", "breached", "pct", "rag")


@attrs.frozen
class ReportSetup:
    """What a report needs from the configuration."""

    policies: PolicyCatalogue
    rulesets: Rulesets
    measures: tuple[Measure, ...]
    tz: ZoneInfo


@attrs.frozen
class ReportRequest:
    period: Period
    as_of: datetime
    by: str | None = None
    compare: str | None = None
    details: bool = True
    quarters: bool = False  # the quarterly trend, for the renderings that chart it


def psg_report(conn: Connection, setup: ReportSetup, request: ReportRequest) -> dict[str, Any]:
    first, last = year_to_date(request.period)
    # A trend over the period's own span (a financial year) is the period's count split
    # by quarter: counted once, with the report's, when there is no other breakdown.
    trend_counted = (
        request.quarters
        and request.by is None
        and (first, last) == (request.period.first, request.period.last)
    )
    report = _period_report(conn, setup, request.period, request, by_quarter=trend_counted)
    quarters = report.pop("quarters", None)
    order = ("from", "to", "as_of", "slas", "totals", "measures", "misses")
    report = {"period": request.period.label} | {k: report[k] for k in order if k in report}
    if request.compare == "previous":
        before = previous(request.period)
        earlier = _period_report(conn, setup, before, attrs.evolve(request, details=False))
        report["previous"] = {
            "period": before.label,
            "from": before.first.isoformat(),
            "to": before.last.isoformat(),
        }
        by = request.by
        _attach(report["slas"], earlier["slas"], lambda e: (e.get(by) if by else None, e["policy"]))
        if by is not None:
            _attach(report["totals"], earlier["totals"], lambda e: e["policy"])
        _attach(report["measures"], earlier["measures"], lambda e: e["measure"], measures=True)
    if request.quarters:
        if quarters is None:
            quarters = sla_report(
                conn,
                policies=setup.policies,
                rulesets=setup.rulesets,
                date_from=first,
                date_to=last,
                as_of=request.as_of,
                tz=setup.tz,
                by="quarter",
            )["slas"]
        report["quarters"] = quarters
        report["trend"] = {"from": first.isoformat(), "to": last.isoformat()}
    return report


def _period_report(
    conn: Connection,
    setup: ReportSetup,
    period: Period,
    request: ReportRequest,
    *,
    by_quarter: bool = False,
) -> dict[str, Any]:
    report = sla_report(
        conn,
        policies=setup.policies,
        rulesets=setup.rulesets,
        date_from=period.first,
        date_to=period.last,
        as_of=request.as_of,
        tz=setup.tz,
        by=request.by,
        details=request.details,
        by_quarter=by_quarter,
    )
    start, end = period_bounds(period.first, period.last, setup.tz)
    report["measures"] = measure_values(
        conn, setup.measures, Window(start, end, request.as_of, setup.tz)
    )
    return report


def _attach(
    entries: Sequence[dict[str, Any]],
    earlier: Iterable[Mapping[str, Any]],
    key: Any,
    *,
    measures: bool = False,
) -> None:
    """Put the previous period's figures beside each entry, with the change and whether
    it is better, no change or worse."""
    before = {key(e): e for e in earlier}
    for entry in entries:
        match = before.get(key(entry))
        kept: tuple[str, ...]
        if measures:
            kept = ("numerator", "denominator", "value", "rag")
            field = "value"
            direction: Direction = entry["better_when"] or "neutral"
        else:
            kept, field, direction = _KEPT_FROM_BEFORE, "pct", "higher"
        entry["previous"] = {k: match[k] for k in kept} if match else None
        entry["change"], entry["direction"] = trend(
            entry[field], match[field] if match else None, direction
        )
