"""HTML and PNG renderings of the PSG report (the JSON is the source of both)."""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")  # files only, never a window

from markupsafe import Markup
from matplotlib import pyplot as plt
from matplotlib.axes import Axes

from casewatch.reports.periods import quarter_note
from casewatch.reports.templating import report_templates

RAG_COLOURS: Final = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828"}
BAND_COLOURS: Final = {"green": "#e3f1e3", "amber": "#fff2cc", "red": "#f9dede"}
DRILL_DOWN_ROWS: Final = 50  # per policy on the page; the CSV and XLSX carry every row
CHART_DPI: Final = 100
PANEL_INCHES: Final = (5.0, 3.0)


def chart_title(report: Mapping[str, Any]) -> str:
    """The span the chart plots (the financial year to the period's end), not the one
    period the tables show, and which quarters these are."""
    shown = report.get("trend") or report
    return f"SLA % met by quarter, {shown['from']} to {shown['to']} ({quarter_note()})"


def trend_png(report: Mapping[str, Any]) -> bytes:
    """% met by quarter, one panel per policy, over green, amber and red bands with the
    target line: a board sees at a glance where each target sits and which way it moves."""
    policies = [
        (e["policy"], e["title"], e["target_pct"], e["amber_band"]) for e in _policy_entries(report)
    ]
    series: dict[str, dict[str, Any]] = defaultdict(dict)
    for entry in report.get("quarters", ()):
        series[entry["policy"]][entry["quarter"]] = entry
    quarters = sorted({q for by_quarter in series.values() for q in by_quarter})
    columns = 2 if len(policies) > 1 else 1
    rows = max(1, math.ceil(len(policies) / columns))
    figure, grid = plt.subplots(
        rows,
        columns,
        figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows),
        dpi=CHART_DPI,
        squeeze=False,
    )
    try:
        panels = [axes for row in grid for axes in row]
        for axes, (policy_id, title, target, band) in zip(panels, policies, strict=False):
            _panel(
                axes,
                title=title,
                target=target,
                band=band,
                quarters=quarters,
                by_quarter=series[policy_id],
            )
        for axes in panels[len(policies) :]:
            axes.set_visible(False)
        figure.suptitle(chart_title(report), fontsize=11)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _panel(
    axes: Axes,
    *,
    title: str,
    target: float,
    band: float,
    quarters: list[str],
    by_quarter: Mapping[str, Any],
) -> None:
    axes.axhspan(target, 100, color=BAND_COLOURS["green"], zorder=0)
    axes.axhspan(max(0.0, target - band), target, color=BAND_COLOURS["amber"], zorder=0)
    axes.axhspan(0, max(0.0, target - band), color=BAND_COLOURS["red"], zorder=0)
    axes.axhline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:g}%")
    positions = range(len(quarters))
    points = [(i, by_quarter[q]) for i, q in enumerate(quarters) if q in by_quarter]
    decided = [(i, e) for i, e in points if e["pct"] is not None]
    if decided:
        axes.plot([i for i, _ in decided], [e["pct"] for _, e in decided], color="#333", zorder=2)
        for i, entry in decided:
            axes.scatter(i, entry["pct"], color=RAG_COLOURS[entry["rag"]], s=50, zorder=3)
            decided_count = entry["met"] + entry["breached"]
            axes.annotate(
                f"{entry['pct']:.1f}% {entry['rag']}\n({entry['met']}/{decided_count})",
                (i, entry["pct"]),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
            )
    else:
        axes.text(0.5, 0.5, "no decided cycles", transform=axes.transAxes, ha="center")
    axes.set_xticks(list(positions), quarters, fontsize=8)
    axes.set_xlim(-0.5, max(len(quarters) - 0.5, 0.5))
    axes.set_ylim(0, 108)
    axes.set_ylabel("% met", fontsize=8)
    axes.set_title(textwrap.fill(title, 60), fontsize=8)
    axes.legend(loc="lower left", fontsize=7)


def _policy_entries(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """One entry per policy, in the report's order (totals when grouped)."""
    entries = report.get("totals", report["slas"])
    seen: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        seen.setdefault(entry["policy"], entry)
    return list(seen.values())


def report_html(
    report: Mapping[str, Any],
    by: str | None,
    png: bytes | None = None,
    whatif: str | None = None,
) -> str:
    """One self-contained, printable page: what is red and why, and which way it moved.
    `png` is the trend chart when the caller has drawn it already (the board pack);
    `whatif` a what-if section (`whatif_fragment`) the board pack adds at the end."""
    if png is None and "quarters" in report:
        png = trend_png(report)
    chart = base64.b64encode(png).decode() if png is not None else None
    misses: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for miss in report.get("misses", ()):
        misses[miss["policy"]].append(miss)
    return (
        report_templates()
        .get_template("report.html")
        .render(
            report=report,
            by=by,
            chart=chart,
            chart_title=chart_title(report) if chart is not None else None,
            policies=_policy_entries(report),
            misses=misses,
            limit=DRILL_DOWN_ROWS,
            whatif=Markup(whatif) if whatif else None,  # noqa: S704 - rendered by our template
        )
    )


def whatif_html(whatif: Mapping[str, Any], by: str | None, titles: Mapping[str, str]) -> str:
    """The what-if comparison as one self-contained page; `titles` names each policy."""
    return report_templates().get_template("whatif.html").render(w=whatif, by=by, titles=titles)


def whatif_fragment(whatif: Mapping[str, Any], by: str | None, titles: Mapping[str, str]) -> str:
    """The comparison as a section, for a page that has its own head and styles."""
    module = report_templates().get_template("_whatif.html").module
    return str(module.whatif_section(whatif, by, titles, 2))  # type: ignore[attr-defined]
