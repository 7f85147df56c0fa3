"""The report as a workbook: one sheet per section, numbers as numbers, RAG as coloured
text, so an analyst can sort, filter and chart it without re-keying anything."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from casewatch.reports.formats import (
    MISS_FIELDS,
    QUARTER_FIELDS,
    measure_fields,
    measure_rows,
    miss_rows,
    quarter_rows,
    sla_fields,
    sla_rows,
)

RAG_FILLS: Final = {
    "green": PatternFill("solid", fgColor="CFE8CF"),
    "amber": PatternFill("solid", fgColor="FFE3A3"),
    "red": PatternFill("solid", fgColor="F6C5C5"),
}
_BOLD: Final = Font(bold=True)
_ONE_DECIMAL: Final = ("pct", "target_pct", "previous_pct", "change", "value", "days_late")
# A workbook is for reading and filtering; past this many misses it is slow to write (about
# 4,000 rows a second here) and to open. The CSV (`misses.csv` in the pack) has them all.
MISS_ROWS: Final = 10_000


def report_xlsx(report: Mapping[str, Any], by: str | None) -> bytes:
    workbook = Workbook(write_only=True)
    _sheet(workbook, "SLAs", sla_fields(report, by), sla_rows(report, by))
    _sheet(workbook, "Measures", measure_fields(report), measure_rows(report))
    if "quarters" in report:
        _sheet(workbook, "Quarters", QUARTER_FIELDS, quarter_rows(report))
    if "misses" in report:
        misses = _sheet(
            workbook, "Misses", MISS_FIELDS, itertools.islice(miss_rows(report), MISS_ROWS)
        )
        left = len(report["misses"]) - MISS_ROWS
        if left > 0:
            misses.append(
                [
                    f"{left:,} more breached or excluded cycles are not listed here: "
                    "see misses.csv in the board pack, or report sla --details --format csv"
                ]
            )
    about = workbook.create_sheet("About")
    for label, value in _about(report):
        heading = WriteOnlyCell(about, value=label)
        heading.font = _BOLD
        about.append([heading, value])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet(
    workbook: Workbook,
    title: str,
    fields: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
) -> WriteOnlyWorksheet:
    sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    header = []
    for field in fields:
        cell = WriteOnlyCell(sheet, value=field)
        cell.font = _BOLD
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(sheet, field, row.get(field)) for field in fields])
    return sheet


def _cell(sheet: WriteOnlyWorksheet, field: str, value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if field == "rag" and value in RAG_FILLS:
        cell = WriteOnlyCell(sheet, value=value)
        cell.fill = RAG_FILLS[value]
        return cell
    if field in _ONE_DECIMAL and isinstance(value, float):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.0"
        return cell
    return value


def _about(report: Mapping[str, Any]) -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = [
        ("Period", report.get("period")),
        ("From", report["from"]),
        ("To", report["to"]),
        ("As of", report["as_of"]),
    ]
    if "previous" in report:
        lines.append(("Compared with", report["previous"]["period"]))
    lines += [
        ("Cohort", "SLA cycles started in the period, whatever their outcome"),
        ("Percentage", "100 x met / (met + breached), one decimal, rounded half up"),
        ("RAG", "green at or above target; amber within the amber band below it; red below"),
    ]
    return lines
