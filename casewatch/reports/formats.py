"""Report renderings other than JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

CSV_FIELDS = (
    "policy", "title", "cohort", "met", "breached", "excluded", "cancelled", "open",
    "pct", "target_pct", "rag", "breach_reasons", "exclusion_reasons",
)  # fmt: skip


def sla_csv(report: Mapping[str, Any], by: str | None) -> str:
    """One row per entry of the JSON report, with the same fields; reasons as JSON."""
    out = io.StringIO()
    fields = ((by,) if by else ()) + CSV_FIELDS
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for entry in report["slas"]:
        row = {field: entry.get(field) for field in fields}
        row["breach_reasons"] = json.dumps(entry["breach_reasons"], ensure_ascii=False)
        row["exclusion_reasons"] = json.dumps(entry["exclusion_reasons"], ensure_ascii=False)
        writer.writerow(row)
    return out.getvalue()
