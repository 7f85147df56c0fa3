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
    default_period,
    parse_period,
    previous,
    quarter_note,
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


def test_the_landing_period_is_this_quarter_when_it_has_decided_targets() -> None:
    """2026-11-26 is in 2026-Q3 (October to December); a target decided from 2026-10-02."""
    period, why = default_period(date(2026, 11, 26), date(2026, 10, 2))
    assert period.label == "2026-Q3"
    assert why == "this quarter so far (2026-Q3), which has decided targets"


def test_the_landing_period_falls_back_to_the_latest_quarter_with_decided_targets() -> None:
    """The latest decided target started 2015-02-21, in 2014-Q4, and today is in 2026-Q3."""
    period, why = default_period(date(2026, 11, 26), date(2015, 2, 21))
    assert (period.label, period.first, period.last) == (
        "2014-Q4",
        date(2015, 1, 1),
        date(2015, 3, 31),
    )
    assert why.startswith("2014-Q4, the latest quarter with decided targets")


def test_with_nothing_decided_the_landing_period_is_this_quarter() -> None:
    """An empty database opens on the current quarter and says nothing is decided yet."""
    period, why = default_period(date(2026, 4, 1), None)
    assert period.label == "2026-Q1"
    assert "no target has been decided yet" in why


def test_the_quarter_note_says_quarters_are_financial_ones() -> None:
    """Q1 of the financial year is April to June."""
    assert quarter_note() == "financial-year quarters, Q1 = April to June"
