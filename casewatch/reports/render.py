"""HTML and PNG renderings of the SLA report (the JSON is the source of both)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from matplotlib import pyplot as plt

RAG_COLOURS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", None: "#9e9e9e"}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("casewatch.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def sla_png(report: Mapping[str, Any], by: str | None) -> bytes:
    """A horizontal bar per entry: % met, coloured by RAG, with the target marked."""
    entries = report["slas"]
    labels = [
        (f"{e[by] if e[by] is not None else '(none)'} · " if by else "") + e["policy"]
        for e in entries
    ]
    height = max(2.5, 0.55 * len(entries) + 1.2)
    figure, axes = plt.subplots(figsize=(9, height), dpi=100)
    try:
        positions = range(len(entries))
        values = [e["pct"] or 0 for e in entries]
        axes.barh(positions, values, color=[RAG_COLOURS[e["rag"]] for e in entries])
        for position, entry in zip(positions, entries, strict=True):
            axes.plot(
                [entry["target_pct"]] * 2, [position - 0.4, position + 0.4], color="black", lw=2
            )
            decided = entry["met"] + entry["breached"]
            text = (
                f"{entry['pct']:.1f}% ({entry['met']}/{decided}) {entry['rag']}"
                if entry["pct"] is not None
                else "no decided cycles"
            )
            axes.text(min((entry["pct"] or 0) + 1, 70), position, text, va="center", fontsize=8)
        axes.set_yticks(list(positions), labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("% met (met / (met + breached))")
        axes.set_title(f"SLA performance {report['from']} to {report['to']}", fontsize=10)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def sla_html(report: Mapping[str, Any], by: str | None) -> str:
    """One self-contained, printable page: the table, RAG by colour and text, the chart."""
    chart = base64.b64encode(sla_png(report, by)).decode()
    return _environment().get_template("sla.html").render(report=report, by=by, chart=chart)
