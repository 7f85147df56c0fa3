"""The alert ladder of a cycle, and which of its levels fall due: pure time arithmetic.

Default ladder (policy config): `warning` when the warning share of the target has
elapsed, `breach` at the first check after the due time, `escalation-N` N configured
working days after the due time. A level falls due only while its cycle is running: a
stop, exclusion, closure or pause before a level's time means that level never fires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from attrs import frozen

from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.cycles import PAUSED, STOPPED, Cycle
from casewatch.engine.policies import Policy

WARNING, BREACH = "warning", "breach"
_TICK = timedelta(microseconds=1)


@frozen
class Level:
    name: str
    at: datetime  # when the level falls due (the alert's `at`)

    @property
    def kind(self) -> str:
        """warning, breach or escalation: how tick counts it."""
        return "escalation" if self.name.startswith("escalation-") else self.name


def ladder(cycle: Cycle, policy: Policy, calendar: WorkCalendar) -> list[Level]:
    levels = [Level(WARNING, cycle.warn_at), Level(BREACH, cycle.due_at)]
    levels += [
        Level(f"escalation-{number}", calendar.add_working_days(cycle.due_at, days))
        for number, days in enumerate(policy.escalations, start=1)
    ]
    return levels


def _end_of_running(cycle: Cycle) -> datetime | None:
    if cycle.state == STOPPED:
        return cycle.stopped_at
    if cycle.state == PAUSED:
        return cycle.paused_since
    return None


def schedule(cycle: Cycle, policy: Policy, calendar: WorkCalendar) -> list[Level]:
    """The levels that fall due at some moment of this cycle's life as derived."""
    end = _end_of_running(cycle)
    return [level for level in ladder(cycle, policy, calendar) if end is None or level.at < end]


def due_by(level: Level, now: datetime) -> bool:
    """Breach fires at the first check after the due time; the others at their time."""
    return now >= check_time(level)


def levels_due(cycle: Cycle, policy: Policy, calendar: WorkCalendar, now: datetime) -> list[Level]:
    """Levels of a cycle, derived from the events up to `now`, that have fallen due."""
    return [level for level in schedule(cycle, policy, calendar) if due_by(level, now)]


def check_time(level: Level) -> datetime:
    """The first moment a check finds the level due: a breach one microsecond (the
    database's resolution) after the due time, so `next_check_at <= now` is exact."""
    return level.at + _TICK if level.name == BREACH else level.at


def next_check(
    levels: Iterable[Level], recorded: set[str], after: datetime | None = None
) -> datetime | None:
    """When the scan should next look at a cycle: the earliest check time of a level not
    yet recorded (after `after`, when given: a check at `after` has just been made)."""
    times = [
        check_time(level)
        for level in levels
        if level.name not in recorded and (after is None or check_time(level) > after)
    ]
    return min(times, default=None)
