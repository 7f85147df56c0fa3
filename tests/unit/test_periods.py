"""Financial-year periods: quarters, years, the previous period and the trend span."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casewatch.reports.periods import (
    PeriodError,
    custom,
    parse_period,
    previous,
    quarter_of,
    quarters_between,
    year_to_date,
)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2014-Q1", date(2014, 4, 1), date(2014, 6, 30)),
        ("2014-Q2", date(2014, 7, 1), date(2014, 9, 30)),
        ("2014-Q3", date(2014, 10, 1), date(2014, 12, 31)),
        ("2014-Q4", date(2015, 1, 1), date(2015, 3, 31)),
        ("FY2014", date(2014, 4, 1), date(2015, 3, 31)),
        ("fy2015", date(2015, 4, 1), date(2016, 3, 31)),
    ],
)
def test_periods_follow_the_uk_financial_year(text: str, first: date, last: date) -> None:
    period = parse_period(text)
    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize("text", ["2014-Q5", "2014Q1", "FY14", "Q1", "", "2014-04"])
def test_unreadable_periods_say_what_is_expected(text: str) -> None:
    with pytest.raises(PeriodError, match="2014-Q1"):
        parse_period(text)


def test_previous_period() -> None:
    assert previous(parse_period("2014-Q1")).label == "2013-Q4"
    assert previous(parse_period("2014-Q4")).label == "2014-Q3"
    assert previous(parse_period("FY2014")).label == "FY2013"
    before = previous(custom(date(2014, 5, 10), date(2014, 5, 19)))
    assert (before.first, before.last) == (date(2014, 4, 30), date(2014, 5, 9))


def test_a_custom_range_that_is_a_quarter_is_named_as_one() -> None:
    assert custom(date(2014, 10, 1), date(2014, 12, 31)).label == "2014-Q3"
    assert custom(date(2014, 4, 1), date(2015, 3, 31)).label == "FY2014"
    assert custom(date(2014, 4, 2), date(2014, 6, 30)).label == "2014-04-02 to 2014-06-30"


def test_the_trend_runs_from_the_start_of_the_financial_year() -> None:
    assert year_to_date(parse_period("2014-Q3")) == (date(2014, 4, 1), date(2014, 12, 31))
    assert year_to_date(parse_period("2015-Q4")) == (date(2015, 4, 1), date(2016, 3, 31))


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@given(days, st.integers(min_value=0, max_value=1500))
def test_quarters_tile_any_range_exactly(first: date, length: int) -> None:
    """However a range falls, its quarters cover it day for day, in order, no gaps."""
    last = first + timedelta(days=length)
    quarters = quarters_between(first, last)
    assert quarters[0].first == first
    assert quarters[-1].last == last
    for before, after in itertools.pairwise(quarters):
        assert after.first == before.last + timedelta(days=1)
    for part in quarters:
        assert quarter_of(part.first).label == part.label == quarter_of(part.last).label
