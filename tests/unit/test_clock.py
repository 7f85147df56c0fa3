"""Reading timestamps: events need offsets; operators may type local times and dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from casewatch.cases.clock import TimestampError, parse_event_time, parse_operator_time

LONDON = ZoneInfo("Europe/London")


def test_event_time_keeps_its_offset() -> None:
    """An event time with an offset is the instant it names."""
    value = parse_event_time("2014-05-06T10:30:00+01:00")
    assert value.astimezone(UTC) == datetime(2014, 5, 6, 9, 30, tzinfo=UTC)


def test_event_time_accepts_z() -> None:
    """'Z' is UTC."""
    assert parse_event_time("2014-01-06T10:30:00Z").utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2014-05-06T10:30:00", "2014-05-06"])
def test_naive_event_time_is_refused(text: str) -> None:
    """A naive timestamp is an error, not a guess."""
    with pytest.raises(TimestampError, match="no UTC offset"):
        parse_event_time(text)


@pytest.mark.parametrize("value", ["yesterday", "", 20140506, None])
def test_unreadable_event_time_is_refused(value: object) -> None:
    """Non-ISO text and non-text values are refused with a worded reason."""
    with pytest.raises(TimestampError):
        parse_event_time(value)


def test_operator_bare_date_is_local_midnight() -> None:
    """--as-of 2014-07-01 means 00:00 London time, which is 23:00 UTC the day before in BST."""
    value = parse_operator_time("2014-07-01", LONDON)
    assert value.astimezone(UTC) == datetime(2014, 6, 30, 23, 0, tzinfo=UTC)


def test_operator_naive_time_is_local() -> None:
    """A time without an offset is London wall-clock time (GMT in winter)."""
    value = parse_operator_time("2014-12-01T09:00", LONDON)
    assert value.astimezone(UTC) == datetime(2014, 12, 1, 9, 0, tzinfo=UTC)


def test_operator_offset_is_honoured() -> None:
    """An explicit offset wins over the local zone."""
    value = parse_operator_time("2014-07-01T09:00:00+00:00", LONDON)
    assert value.astimezone(UTC) == datetime(2014, 7, 1, 9, 0, tzinfo=UTC)


def test_operator_garbage_is_refused() -> None:
    """Garbage is refused with an example of what is expected."""
    with pytest.raises(TimestampError, match=r"expected e\.g\."):
        parse_operator_time("next tuesday", LONDON)
