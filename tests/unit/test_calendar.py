"""SLA time arithmetic: calendar days across DST, working days across holidays and weekends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casewatch.engine.calendar import WorkCalendar

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkCalendar(LONDON, "england_wales")
SCOTLAND = WorkCalendar(LONDON, "scotland")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def shown(moment: datetime) -> str:
    return moment.astimezone(LONDON).isoformat()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2014-05-06T10:30", 5, "2014-05-11T10:30:00+01:00"),
        # Into BST (30 March 2014): the same wall-clock time, one real hour fewer.
        ("2014-03-28T10:30", 5, "2014-04-02T10:30:00+01:00"),
        # Out of BST (26 October 2014): the same wall-clock time, one hour more.
        ("2014-10-24T10:30", 5, "2014-10-29T10:30:00+00:00"),
    ],
)
def test_calendar_days_keep_local_wall_clock(start: str, days: int, due: str) -> None:
    """Calendar-day targets fall due at the same local time N days later, across DST."""
    assert shown(ENGLAND.add_calendar_days(local(start), days)) == due


def test_calendar_days_across_dst_are_not_fixed_hours() -> None:
    """Across the spring change five calendar days are 119 real hours."""
    start = local("2014-03-28T10:30")
    assert ENGLAND.add_calendar_days(start, 5) - start == timedelta(hours=119)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2014-05-06T10:30", 2, "2014-05-08T10:30:00+01:00"),  # Tue -> Thu
        ("2014-05-09T10:30", 2, "2014-05-13T10:30:00+01:00"),  # Fri -> Tue
        ("2014-05-10T10:30", 2, "2014-05-14T00:00:00+01:00"),  # Sat: counts from Mon 00:00
        ("2014-05-09T10:30", 1, "2014-05-12T10:30:00+01:00"),  # Fri -> Mon
        ("2014-05-02T10:30", 1, "2014-05-06T10:30:00+01:00"),  # Fri before May Day -> Tue
        ("2014-12-24T10:00", 2, "2014-12-30T10:00:00+00:00"),  # Christmas and Boxing Day
        ("2015-04-02T10:00", 1, "2015-04-07T10:00:00+01:00"),  # Good Friday, Easter Monday
        ("2014-03-28T16:00", 1, "2014-03-31T16:00:00+01:00"),  # across the DST change
    ],
)
def test_working_days_skip_weekends_and_bank_holidays(start: str, days: int, due: str) -> None:
    """Working-day targets skip weekends and England and Wales bank holidays."""
    assert shown(ENGLAND.add_working_days(local(start), days)) == due


def test_nations_have_their_own_holidays() -> None:
    """2 January is a bank holiday in Scotland but not in England and Wales."""
    start = local("2014-12-31T10:00")
    assert shown(ENGLAND.add_working_days(start, 1)) == "2015-01-02T10:00:00+00:00"
    assert shown(SCOTLAND.add_working_days(start, 1)) == "2015-01-05T10:00:00+00:00"


def test_working_time_counts_24_hours_per_working_day() -> None:
    """Friday 12:00 to Monday 12:00 is 24 hours of working time."""
    assert ENGLAND.working_time_between(
        local("2014-05-09T12:00"), local("2014-05-12T12:00")
    ) == timedelta(hours=24)


def test_working_time_of_eighty_percent() -> None:
    """80% of two working days (38.4 h of working time) from Friday 10:30 is Tuesday 00:54."""
    warn = ENGLAND.add_working_time(local("2014-05-09T10:30"), timedelta(hours=48) * 0.8)
    # 13.5 h left on Friday, then 24 h on Monday, then 0.9 h on Tuesday.
    assert shown(warn) == "2014-05-13T00:54:00+01:00"


_moments = st.datetimes(
    min_value=datetime(2014, 1, 1), max_value=datetime(2016, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400)
@given(start=_moments, days=st.integers(1, 6))
def test_working_days_equal_working_time(start: datetime, days: int) -> None:
    """N working days after a moment is the same as N x 24 hours of working time."""
    assert ENGLAND.add_working_days(start, days) == ENGLAND.add_working_time(
        start, timedelta(days=days)
    )


@settings(max_examples=400)
@given(start=_moments, minutes=st.integers(0, 60 * 24 * 8))
def test_working_time_round_trips(start: datetime, minutes: int) -> None:
    """The working time between a moment and that moment plus W of working time is W."""
    amount = timedelta(minutes=minutes)
    end = ENGLAND.add_working_time(start, amount)
    assert end >= start
    assert ENGLAND.working_time_between(start, end) == amount


@settings(max_examples=400)
@given(start=_moments, days=st.integers(1, 10))
def test_calendar_days_keep_the_local_time(start: datetime, days: int) -> None:
    """Calendar-day due times have the start's local wall-clock time, whatever DST does."""
    due = ENGLAND.add_calendar_days(start, days)
    expected = start.astimezone(LONDON).replace(tzinfo=None) + timedelta(days=days)
    # A wall-clock time that does not exist (01:xx on the spring change) is shifted by DST.
    if ENGLAND.local(due).replace(tzinfo=None) != expected:
        assert expected.month == 3
        assert expected.hour == 1
    assert ENGLAND.local(due).date() == expected.date()
