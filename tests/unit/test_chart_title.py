"""The trend chart's title names the span it plots, not the one quarter the tables show."""

from __future__ import annotations

from casewatch.reports.render import chart_title


def test_a_quarters_chart_is_titled_with_the_year_to_date() -> None:
    """2014-Q3's chart plots April to December 2014, in financial-year quarters."""
    report = {
        "from": "2014-10-01",
        "to": "2014-12-31",
        "trend": {"from": "2014-04-01", "to": "2014-12-31"},
    }
    assert chart_title(report) == (
        "SLA % met by quarter, 2014-04-01 to 2014-12-31 "
        "(financial-year quarters, Q1 = April to June)"
    )
