"""Reporting periods of the UK financial year (April to March), pure.

PSGs and CSP boards speak in quarters and years: `2014-Q1` is April to June 2014 and
`FY2014` is April 2014 to March 2015. A period is a pair of local dates, both inclusive,
so `--period` and `--from/--to` describe the same thing.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Final

import attrs

FY_START_MONTH: Final = 4
_DAY: Final = timedelta(days=1)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^FY(\d{4})$")


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is expected."""


@attrs.frozen
class Period:
    first: date
    last: date
    label: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def parse_period(text: str) -> Period:
    """`2014-Q1` (a financial-year quarter) or `FY2014` (the year from 1 April 2014)."""
    text = text.strip().upper()
    if match := _QUARTER.match(text):
        return quarter(int(match[1]), int(match[2]))
    if match := _YEAR.match(text):
        return financial_year(int(match[1]))
    raise PeriodError(
        f"'{text[:40]}' is not a period: use a financial-year quarter such as 2014-Q1 "
        "(April to June 2014) or a financial year such as FY2014 (April 2014 to March 2015)"
    )


def financial_year(year: int) -> Period:
    return Period(
        date(year, FY_START_MONTH, 1), date(year + 1, FY_START_MONTH, 1) - _DAY, f"FY{year}"
    )


def quarter(year: int, number: int) -> Period:
    month = FY_START_MONTH + 3 * (number - 1)
    first = date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    after = _add_months(first, 3)
    return Period(first, after - _DAY, f"{year}-Q{number}")


def quarter_of(day: date) -> Period:
    """The financial-year quarter a day falls in."""
    year = fy_of(day)
    months_in = (day.month - FY_START_MONTH) % 12
    return quarter(year, months_in // 3 + 1)


def fy_of(day: date) -> int:
    """The financial year a day falls in, named by the calendar year it starts in."""
    return day.year if day.month >= FY_START_MONTH else day.year - 1


def custom(first: date, last: date) -> Period:
    """A period from --from/--to; named after its quarter or year when it is exactly one."""
    for candidate in (quarter_of(first), financial_year(fy_of(first))):
        if (candidate.first, candidate.last) == (first, last):
            return candidate
    return Period(first, last, f"{first.isoformat()} to {last.isoformat()}")


def previous(period: Period) -> Period:
    """The period before: the previous quarter or year, or as many days just before."""
    if _QUARTER.match(period.label):
        return quarter_of(period.first - _DAY)
    if _YEAR.match(period.label):
        return financial_year(fy_of(period.first) - 1)
    last = period.first - _DAY
    return custom(last - timedelta(days=period.days - 1), last)


def quarters_between(first: date, last: date) -> list[Period]:
    """The quarters overlapping [first, last], the two ends clipped to it."""
    quarters = []
    current = quarter_of(first)
    while current.first <= last:
        quarters.append(Period(max(current.first, first), min(current.last, last), current.label))
        current = quarter_of(current.last + _DAY)
    return quarters


def year_to_date(period: Period) -> tuple[date, date]:
    """From the start of the financial year the period starts in to the period's end: the
    span a trend chart shows, so one quarter is seen against the quarters before it."""
    return min(period.first, financial_year(fy_of(period.first)).first), period.last


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, day.day)


def choose_period(period: str | None, first: date | None, last: date | None) -> Period:
    """The period a report asks for: a named one, or a range of dates (not both)."""
    if period is not None:
        if first is not None or last is not None:
            raise PeriodError("give a period or a from/to range, not both")
        return parse_period(period)
    if first is None or last is None:
        raise PeriodError("give a period (e.g. 2014-Q1 or FY2014) or both from and to dates")
    if last < first:
        raise PeriodError("the 'to' date is before the 'from' date")
    return custom(first, last)


def quarter_note() -> str:
    """What the quarters are, for any chart or table that labels them: financial-year
    quarters, Q1 starting in April, are not calendar ones."""
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip
    first, last = months[FY_START_MONTH - 1], months[(FY_START_MONTH + 1) % 12]
    return f"financial-year quarters, Q1 = {first} to {last}"


def default_period(today: date, latest_decided: date | None) -> tuple[Period, str]:
    """The period a report page opens on, and why: this quarter so far when a target started
    in it has been decided, else the latest quarter with a decided target (a quarter with
    none would read 0 of 0 everywhere), else this quarter."""
    current = quarter_of(today)
    if latest_decided is None:
        return current, f"this quarter so far ({current.label}): no target has been decided yet"
    latest = quarter_of(latest_decided)
    if latest.label == current.label:
        return current, f"this quarter so far ({current.label}), which has decided targets"
    return latest, (
        f"{latest.label}, the latest quarter with decided targets: none of those started "
        f"this quarter ({current.label}) has been decided yet"
    )
