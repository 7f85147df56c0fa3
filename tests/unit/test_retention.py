"""The retention policy: periods per case type, erase dates on the local calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casewatch.cases.retention import RetentionConfigError, retention_from_mapping
from casewatch.engine.calendar import WorkCalendar
from casewatch.service.retention import CUTOFF_SLACK

LONDON = ZoneInfo("Europe/London")
CALENDAR = WorkCalendar(LONDON, "england_wales")
POLICY = retention_from_mapping(
    {"personal_data_after_closure": {"asb": {"years": 6}, "domestic_abuse": {"months": 18}}},
    "retention.yaml",
)


def test_periods_are_calendar_months_on_local_wall_time() -> None:
    """Six years to the minute of local time, across a clock change; month ends clamp."""
    closed = datetime(2014, 5, 12, 13, 15, tzinfo=UTC)  # 14:15 BST
    assert POLICY.erase_after("asb", closed, CALENDAR.add_calendar_months) == datetime(
        2020, 5, 12, 13, 15, tzinfo=UTC
    )
    winter = POLICY.erase_after("domestic_abuse", closed, CALENDAR.add_calendar_months)
    assert winter.astimezone(LONDON).isoformat() == "2015-11-12T14:15:00+00:00"
    month_end = datetime(2014, 8, 31, 9, 0, tzinfo=UTC)
    clamped = POLICY.erase_after("domestic_abuse", month_end, CALENDAR.add_calendar_months)
    assert clamped.astimezone(LONDON).date().isoformat() == "2016-02-29"
    assert POLICY.describe("asb") == "retention policy: personal data kept 6 years after closure"
    assert POLICY.describe("domestic_abuse").endswith("kept 18 months after closure")


@pytest.mark.parametrize(
    ("periods", "problem"),
    [
        ({"asb": {"years": 6}}, "no retention period for domestic_abuse"),
        (
            {"asb": {"years": 6}, "domestic_abuse": {"years": 6}, "hate": {"years": 1}},
            "unknown case type(s) hate",
        ),
        ({"asb": {"years": 0}, "domestic_abuse": {"years": 6}}, "at least 1"),
        ({"asb": {"years": True}, "domestic_abuse": {"years": 6}}, "whole number"),
        ({"asb": {"weeks": 3}, "domestic_abuse": {"years": 6}}, "{years: N} or {months: N}"),
        ({"asb": 6, "domestic_abuse": {"years": 6}}, "{years: N} or {months: N}"),
    ],
)
def test_a_policy_that_cannot_be_used_is_refused_by_name(periods: object, problem: str) -> None:
    with pytest.raises(RetentionConfigError, match=r"retention\.yaml") as refused:
        retention_from_mapping({"personal_data_after_closure": periods}, "retention.yaml")
    assert problem in str(refused.value)


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(closed=instants, as_of=instants, months=st.integers(1, 240))
def test_the_database_cutoff_never_misses_a_due_case(
    closed: datetime, as_of: datetime, months: int
) -> None:
    """The pre-selection (closed at or before as_of - period + slack) keeps every case the
    exact rule (closed + period <= as_of) finds due, whatever the month-end clamping."""
    if CALENDAR.add_calendar_months(closed, months) <= as_of:
        assert closed <= CALENDAR.add_calendar_months(as_of, -months) + CUTOFF_SLACK
