"""Tabular renderings of the report: CSV and XLSX, each field of the JSON as a column."""

from __future__ import annotations

import csv
import io
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

SLA_FIELDS: Final = (
    "policy", "title", "cohort", "met", "breached", "excluded", "cancelled", "open",
    "pct", "target_pct", "rag", "breach_reasons", "exclusion_reasons",
)  # fmt: skip
COMPARE_FIELDS: Final = ("previous_pct", "change", "direction")
MEASURE_FIELDS: Final = (
    "measure", "title", "unit", "numerator", "denominator", "value", "target", "better_when",
    "rag",
)  # fmt: skip
MISS_FIELDS: Final = (
    "policy", "case_id", "team", "outcome", "started_at", "due_at", "stopped_at", "days_late",
    "reason",
)  # fmt: skip
QUARTER_FIELDS: Final = (
    "quarter",
    "policy",
    "cohort",
    "met",
    "breached",
    "pct",
    "target_pct",
    "rag",
)
_REASONS: Final = ("breach_reasons", "exclusion_reasons")


def sla_fields(report: Mapping[str, Any], by: str | None) -> tuple[str, ...]:
    fields = ((by,) if by else ()) + SLA_FIELDS
    if "previous" in report:
        fields += COMPARE_FIELDS
    if by:
        fields += ("scope",)
    return fields


def sla_rows(report: Mapping[str, Any], by: str | None) -> Iterator[dict[str, Any]]:
    """One row per entry, then (with `by`) one total per policy marked `scope: total`."""
    scopes = [("group", report["slas"])]
    if by:
        scopes.append(("total", report["totals"]))
    for scope, entries in scopes:
        for entry in entries:
            row = {field: entry.get(field) for field in SLA_FIELDS}
            if by:
                row[by] = entry.get(by) if scope == "group" else None
                row["scope"] = scope
            if "previous" in report:
                row |= _compared(entry, "pct", "previous_pct")
            yield row


def measure_fields(report: Mapping[str, Any]) -> tuple[str, ...]:
    return MEASURE_FIELDS + (
        ("previous_value", "change", "direction") if "previous" in report else ()
    )


def measure_rows(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for measure in report["measures"]:
        row = {field: measure.get(field) for field in MEASURE_FIELDS}
        if "previous" in report:
            row |= _compared(measure, "value", "previous_value")
        yield row


def _compared(entry: Mapping[str, Any], field: str, column: str) -> dict[str, Any]:
    """The compare-previous columns of one entry: the earlier figure, change, direction."""
    before = entry.get("previous")
    return {
        column: before[field] if before else None,
        "change": entry.get("change"),
        "direction": entry.get("direction"),
    }


def quarter_rows(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in report.get("quarters", ()):
        yield {field: entry.get(field) for field in QUARTER_FIELDS}


def miss_rows(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for miss in report.get("misses", ()):
        yield {field: miss.get(field) for field in MISS_FIELDS}


def to_csv(fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with the JSON's fields; reason tallies as JSON objects, absent values empty."""
    return _csv(
        fields,
        (
            [json.dumps(row[k], ensure_ascii=False) if k in _REASONS and k in row else row.get(k)
             for k in fields]
            for row in rows
        ),
    )  # fmt: skip


def _csv(fields: Sequence[str], values: Iterable[Sequence[Any]]) -> str:
    """A header, then one line per row of values in `fields` order (None as empty): what
    csv.DictWriter writes, without its dictionary per row (a drill-down can hold
    100,000s of rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(values)
    return out.getvalue()


def sla_csv(report: Mapping[str, Any], by: str | None) -> str:
    return to_csv(sla_fields(report, by), sla_rows(report, by))


def measures_csv(report: Mapping[str, Any]) -> str:
    return to_csv(measure_fields(report), measure_rows(report))


def misses_csv(report: Mapping[str, Any]) -> str:
    # Every miss holds every field (sla.py builds them): read straight from each.
    return _csv(MISS_FIELDS, map(operator.itemgetter(*MISS_FIELDS), report.get("misses", ())))


WHATIF_FIGURES: Final = ("cohort", "met", "breached", "excluded", "cancelled", "open", "pct", "rag")


def whatif_fields(by: str | None) -> tuple[str, ...]:
    sides = tuple(f"{side}_{name}" for side in ("current", "proposed") for name in WHATIF_FIGURES)
    return ("policy", *((by,) if by else ()), *sides, "change", "flipped")


def whatif_rows(report: Mapping[str, Any], by: str | None) -> Iterator[dict[str, Any]]:
    """One row per entry: both sides' figures (empty for a side without the policy) and
    the flipped cycles as `case#cycle from->to`, separated by semicolons."""
    for entry in report["slas"]:
        row: dict[str, Any] = {"policy": entry["policy"]}
        if by:
            row[by] = entry.get(by)
        for side in ("current", "proposed"):
            figures = entry[side] or {}
            row |= {f"{side}_{name}": figures.get(name) for name in WHATIF_FIGURES}
        row["change"] = entry["change"]
        row["flipped"] = "; ".join(
            f"{f['case_id']}#{f['cycle']} {f['from'] or 'none'}->{f['to'] or 'none'}"
            for f in entry["flipped"]
        )
        yield row


def whatif_csv(report: Mapping[str, Any], by: str | None) -> str:
    return to_csv(whatif_fields(by), whatif_rows(report, by))
