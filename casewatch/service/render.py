"""Human-readable terminal output (rich). Machine-readable output is plain JSON elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from casewatch.cases.tables import CaseRow
from casewatch.cases.wording import case_type_words, value_words, words

# Piped or redirected, a table has no terminal to fit: rich would cut it to 80 columns
# ("asb-nor…"); as wide as its content instead, up to this.
PIPED_WIDTH: Final = 1000
_RISK_STYLE = {"high": "bold red", "medium": "yellow", "standard": "green", "low": "green"}
_TIMELINE_DETAIL = (
    "case_type",
    "category",
    "matrix",
    "level",
    "method",
    "to",
    "policy",
    "agencies",
)


def table_console() -> Console:
    """stdout for tables: the terminal's width on a terminal, never cut when piped."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)


def print_case(console: Console, view: Mapping[str, Any]) -> None:
    # Text objects, not markup strings: case data must never be read as rich markup.
    risk = view["risk"]
    console.print(
        Text.assemble(
            (view["case_id"], "bold"),
            f"  {case_type_words(view['case_type'])}  {view['status']}",
            f"  team: {view['team'] or '-'}  caseworker: {view['caseworker'] or '-'}",
        )
    )
    score = f" (score {risk['score']}, {risk['matrix']})" if risk["score"] is not None else ""
    console.print(Text.assemble("risk: ", _risk_text(risk["level"]), score))
    if risk["professional_judgement"]:
        console.print("  raised on professional judgement")
    console.print(Text(f"flags: {', '.join(words(f) for f in view['flags']) or 'none'}"))
    if view["cycles"]:
        cycles = Table("policy", "cycle", "state", "started", "due", "outcome", title="SLA cycles")
        for c in view["cycles"]:
            cycles.add_row(
                Text(c["policy"]),
                str(c["cycle"]),
                c["state"],
                _short_time(c["started_at"]),
                _short_time(c["due_at"]),
                c["outcome"] or "",
            )
        console.print(cycles)
    timeline = Table("at", "event", "detail", title=f"Timeline as of {_short_time(view['as_of'])}")
    for item in view["timeline"]:
        detail = ", ".join(
            f"{words(key)}: {value_words(item[key])}"
            for key in _TIMELINE_DETAIL
            if item.get(key) is not None
        )
        timeline.add_row(_short_time(item["at"]), Text(words(item["type"])), Text(detail))
    console.print(timeline)


def print_cases(console: Console, rows: Iterable[CaseRow]) -> int:
    table = Table("case", "type", "team", "caseworker", "status", "risk", "events", "last event")
    count = 0
    for row in rows:
        count += 1
        table.add_row(
            Text(row.case_id),
            value_words(row.case_type) if row.case_type else "-",
            Text(row.team or "-"),
            Text(row.caseworker or "-"),
            row.status,
            _risk_text(row.risk_level),
            str(row.event_count),
            _short_time(row.last_event_at.isoformat() if row.last_event_at else None),
        )
    console.print(table)
    return count


def _risk_text(level: str | None) -> Text:
    return Text(level or "not assessed", style=_RISK_STYLE.get(level or "", ""))


def _short_time(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def print_alerts(console: Console, alerts: Iterable[Mapping[str, Any]]) -> None:
    table = Table("case", "policy", "cycle", "level", "fell due", "to", "delivered", "note")
    for alert in alerts:
        note = "superseded" if alert["superseded"] else ("historic" if alert["historic"] else "")
        table.add_row(
            Text(alert["case_id"]),
            Text(alert["policy"]),
            str(alert["cycle"]),
            words(alert["level"]),
            _short_time(alert["at"]),
            Text(", ".join(alert["recipients"])),
            "yes" if alert["delivered"] else "no",
            note,
        )
    console.print(table)
