"""Time arithmetic for SLA targets: calendar days, working days and working time.

Calendar days: the same local wall-clock time N days later, so a target never gains or
loses an hour across a DST change. Working days: Monday to Friday less the nation's bank
holidays; the due time is the same local time on the Nth following working day, and a
start on a non-working day counts from 00:00 of the next working day. Working time counts
24 hours for each working day and nothing for the others, which makes "80% of 2 working
days" and "pause for 5 working hours" well defined.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays
from attrs import frozen

from casewatch.cases.case_review import add_local_months

NATION_SUBDIVISIONS: Final = {
    "england_wales": "ENG",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}
_DAY: Final = timedelta(days=1)


@lru_cache(maxsize=8)
def _bank_holidays(nation: str) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=NATION_SUBDIVISIONS[nation])


@lru_cache(maxsize=65_536)  # a day's answer never changes; a replay asks it per cycle
def _is_working_day(nation: str, day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation)


@frozen
class WorkCalendar:
    """A partnership's clock: its time zone and its nation's bank holidays."""

    tz: ZoneInfo
    nation: str = "england_wales"

    def is_working_day(self, day: date) -> bool:
        return _is_working_day(self.nation, day)

    def next_working_day(self, day: date) -> date:
        day += _DAY
        while not self.is_working_day(day):
            day += _DAY
        return day

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def _aware(self, wall: datetime) -> datetime:
        """A naive local wall-clock time as an aware UTC instant."""
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        wall = self.local(start).replace(tzinfo=None) + timedelta(days=days)
        return self._aware(wall)

    def add_calendar_months(self, start: datetime, months: int) -> datetime:
        """Calendar months on the local calendar (31 Aug - 6 months = 28/29 Feb), computed
        where the case review threshold computes them, so both agree."""
        return add_local_months(start, months, self.tz)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        wall = self.local(start).replace(tzinfo=None)
        day, clock = wall.date(), wall.time()
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time(0)
        for _ in range(days):
            day = self.next_working_day(day)
        return self._aware(datetime.combine(day, clock))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end): 24 hours per working day, wall-clock."""
        if end <= start:
            return timedelta(0)
        begin = self.local(start).replace(tzinfo=None)
        finish = self.local(end).replace(tzinfo=None)
        total = timedelta(0)
        day = begin.date()
        while day <= finish.date():
            if self.is_working_day(day):
                day_start = datetime.combine(day, time(0))
                overlap = min(finish, day_start + _DAY) - max(begin, day_start)
                if overlap > timedelta(0):
                    total += overlap
            day += _DAY
        return total

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start`.

        Landing exactly at the end of a working day means 00:00 of the next working day,
        the same convention as add_working_days.
        """
        wall = self.local(start).replace(tzinfo=None)
        if not self.is_working_day(wall.date()):
            wall = datetime.combine(self.next_working_day(wall.date()), time(0))
        remaining = amount
        while True:
            day_end = datetime.combine(wall.date(), time(0)) + _DAY
            available = day_end - wall
            if remaining < available:
                return self._aware(wall + remaining)
            remaining -= available
            wall = datetime.combine(self.next_working_day(wall.date()), time(0))
            if remaining == timedelta(0):
                return self._aware(wall)
