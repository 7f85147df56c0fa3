"""RAG against targets either way round, trends, and the repeat-referral count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from casewatch.reports.arithmetic import rate, ratio, share, trend
from casewatch.reports.counts import Window, count_repeats
from casewatch.reports.sla import days_late

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (85.0, "higher", "green"),
        (75.0, "higher", "amber"),
        (74.9, "higher", "red"),
        (25.0, "lower", "green"),
        (35.0, "lower", "amber"),
        (35.1, "lower", "red"),
        (99.0, "neutral", None),
        (None, "higher", None),
    ],
)
def test_rag_either_way_round(value: float | None, direction: str, expected: str | None) -> None:
    target = 85.0 if direction != "lower" else 25.0
    assert rate(value, target, 10, direction) == expected  # type: ignore[arg-type]


def test_no_target_no_rating() -> None:
    assert rate(50.0, None, 10, "higher") is None


@pytest.mark.parametrize(
    ("current", "before", "direction", "expected"),
    [
        (81.8, 80.0, "higher", (1.8, "better")),
        (70.0, 80.0, "higher", (-10.0, "worse")),
        (16.1, 8.1, "lower", (8.0, "worse")),
        (8.1, 16.1, "lower", (-8.0, "better")),
        (50.0, 50.0, "higher", (0.0, "no change")),
        (33, 34, "neutral", (-1.0, "lower")),
        (50.0, None, "higher", (None, None)),
        (None, 50.0, "higher", (None, None)),
    ],
)
def test_trend_words(
    current: float | None, before: float | None, direction: str, expected: tuple[object, object]
) -> None:
    assert trend(current, before, direction) == expected  # type: ignore[arg-type]


def test_share_and_ratio_round_half_up() -> None:
    assert share(1, 8) == 12.5
    assert share(1, 3) == 33.3
    assert share(2, 3) == 66.7
    assert share(0, 0) is None
    assert ratio(5, 3) == 1.7
    assert ratio(1, 0) is None


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_repeat_referrals_use_calendar_months_in_local_time() -> None:
    window = Window(
        at("2014-04-01T00:00:00+01:00"),
        at("2014-07-01T00:00:00+01:00"),
        at("2015-01-01T00:00:00+00:00"),
        LONDON,
    )
    referrals = [
        ("C", at("2014-03-03T09:00:00+00:00"), None),  # before the window
        ("A", at("2013-05-02T09:00:00+01:00"), None),
        ("B", at("2013-05-02T09:00:00+01:00"), None),
        ("C", at("2014-04-03T09:00:00+01:00"), None),  # a repeat of the one before the window
        ("A", at("2014-05-02T09:00:00+01:00"), None),  # exactly 12 months later: a repeat
        ("B", at("2014-05-02T09:00:01+01:00"), None),  # a second too late
        ("D", at("2014-06-30T09:00:00+01:00"), None),
        ("D", at("2014-07-01T09:00:00+01:00"), None),  # after the window
    ]
    referrals.sort(key=lambda r: r[1])  # effect order, as the query gives them
    assert count_repeats(referrals, 12, window) == 2


def test_repeat_referrals_judge_by_the_incident_when_given() -> None:
    """A late referral is a repeat when its incident fell within 12 months of the last one."""
    window = Window(
        at("2015-04-01T00:00:00+01:00"),
        at("2015-07-01T00:00:00+01:00"),
        at("2016-01-01T00:00:00+00:00"),
        LONDON,
    )
    referrals = [
        ("A", at("2014-05-06T10:00:00+01:00"), None),
        ("B", at("2014-05-06T10:00:00+01:00"), None),
        ("C", at("2014-05-06T10:00:00+01:00"), None),
        # 13 months on, but the incident was exactly 12 months after the last referral
        ("A", at("2015-06-01T10:00:00+01:00"), at("2015-05-06T10:00:00+01:00")),
        # the incident a day over 12 months: not a repeat
        ("B", at("2015-06-01T10:00:00+01:00"), at("2015-05-07T10:00:00+01:00")),
        # without incident_at, judged by the referral: 13 months, not a repeat
        ("C", at("2015-06-01T10:00:00+01:00"), None),
    ]
    assert count_repeats(referrals, 12, window) == 1


def test_days_late_counts_to_the_stop_or_to_as_of() -> None:
    due = datetime(2014, 5, 1, 9, tzinfo=UTC)
    assert days_late(due, due + timedelta(days=2, hours=6), due + timedelta(days=30)) == 2.3
    assert days_late(due, None, due + timedelta(days=1)) == 1.0
    assert days_late(due, due - timedelta(hours=1), due + timedelta(days=1)) is None
    # stopped after as_of: as things stood then, it was still running
    assert days_late(due, due + timedelta(days=5), due + timedelta(days=1)) == 1.0
