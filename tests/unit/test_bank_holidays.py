"""The working-day calendar against GOV.UK's published bank holidays, for each UK nation
and every year the committed copy covers (tests/data/gov-uk-bank-holidays.yaml)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from casewatch.engine.calendar import NATION_SUBDIVISIONS, WorkCalendar

OFFICIAL = Path(__file__).resolve().parents[1] / "data" / "gov-uk-bank-holidays.yaml"
LONDON = ZoneInfo("Europe/London")


def official() -> tuple[tuple[int, int], dict[str, set[date]]]:
    data = yaml.safe_load(OFFICIAL.read_text(encoding="utf-8"))
    first, last = data["covers"]
    lists = {
        nation: {
            date(year, int(day[:2]), int(day[3:]))
            for year, days in data[nation].items()
            for day in days
        }
        for nation in NATION_SUBDIVISIONS
    }
    return (first, last), lists


@pytest.mark.parametrize("nation", sorted(NATION_SUBDIVISIONS))
def test_non_working_weekdays_are_exactly_govuks_bank_holidays(nation: str) -> None:
    """Every weekday of the covered years is a working day unless GOV.UK lists it as a
    bank holiday of that nation, and every listed day is a weekday the calendar skips."""
    (first, last), lists = official()
    calendar = WorkCalendar(LONDON, nation)
    day, end = date(first, 1, 1), date(last, 12, 31)
    skipped = set()
    while day <= end:
        if day.weekday() < 5 and not calendar.is_working_day(day):
            skipped.add(day)
        day += timedelta(days=1)
    assert all(d.weekday() < 5 and first <= d.year <= last for d in lists[nation])
    assert sorted(skipped - lists[nation]) == [], "holidays the calendar has, GOV.UK not"
    assert sorted(lists[nation] - skipped) == [], "GOV.UK's holidays the calendar lacks"


def test_the_copy_holds_what_was_checked_by_hand() -> None:
    """Spot checks of the copy itself: Scotland's World Cup day (15 June 2026) is in
    Scotland's list only, and the lists have the sizes counted when it was made."""
    _, lists = official()
    world_cup = date(2026, 6, 15)
    assert world_cup in lists["scotland"]
    assert world_cup not in lists["england_wales"] | lists["northern_ireland"]
    counts = {nation: len(days) for nation, days in lists.items()}
    assert counts == {"england_wales": 75, "scotland": 85, "northern_ireland": 93}
