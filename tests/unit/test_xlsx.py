"""The workbook's drill-down stops at a limit and says where the rest is."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from casewatch.reports import xlsx


def miss(number: int) -> dict[str, object]:
    return {
        "policy": "asb-high-risk-conference", "case_id": f"ASB-{number:04d}", "team": "north",
        "outcome": "breached", "started_at": "2014-05-01T09:00:00+01:00",
        "due_at": "2014-05-06T09:00:00+01:00", "stopped_at": None, "days_late": 2.5,
        "reason": "unexplained",
    }  # fmt: skip


def test_misses_past_the_limit_are_counted_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MISS_ROWS", 3)
    report = {
        "period": "2014-Q1", "from": "2014-04-01", "to": "2014-06-30",
        "as_of": "2014-12-31T00:00:00+00:00", "slas": [], "measures": [],
        "misses": [miss(n) for n in range(5)],
    }  # fmt: skip
    book = load_workbook(io.BytesIO(xlsx.report_xlsx(report, None)))
    rows = [[c.value for c in row] for row in book["Misses"].iter_rows()]
    assert [r[1] for r in rows[1:4]] == ["ASB-0000", "ASB-0001", "ASB-0002"]
    assert rows[1][7] == 2.5
    assert len(rows) == 5
    assert rows[4][0].startswith("2 more breached or excluded cycles")
    assert "misses.csv" in rows[4][0]
