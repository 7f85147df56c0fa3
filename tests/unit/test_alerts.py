"""The alert ladder: warning at 80%, breach after due, escalations in working days."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from attrs import evolve

from casewatch.engine import cycles as machine
from casewatch.engine.alerts import Level, ladder, levels_due, next_check, schedule
from casewatch.service.config import Config

LONDON = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def cycle_for(config: Config, policy_id: str, start: str) -> machine.Cycle:
    [cycle] = machine.start((), config.policies[policy_id], at(start), "e1", config.calendar)
    return cycle


def names(levels: list[Level]) -> list[str]:
    return [level.name for level in levels]


def test_calendar_ladder(config: Config) -> None:
    """Warning at 80% of 5 days, breach at due, escalations 1 and 3 working days after."""
    policy = config.policies["asb-high-risk-conference"]
    cycle = cycle_for(config, policy.id, "2014-05-06T10:30")  # Tuesday; due Sunday 11th
    assert [
        (level.name, level.at.astimezone(LONDON).strftime("%a %d %H:%M"))
        for level in ladder(cycle, policy, config.calendar)
    ] == [
        ("warning", "Sat 10 10:30"),
        ("breach", "Sun 11 10:30"),
        ("escalation-1", "Tue 13 00:00"),  # from a Sunday: counts from Monday 00:00
        ("escalation-2", "Thu 15 00:00"),
    ]


def test_working_day_ladder(config: Config) -> None:
    """Warning at 80% of 2 working days' working time; escalations skip the weekend."""
    policy = config.policies["da-high-risk-idva-contact"]
    cycle = cycle_for(config, policy.id, "2014-05-08T10:00")  # Thursday; due Monday 10:00
    levels = {
        level.name: level.at.astimezone(LONDON).strftime("%a %d %H:%M")
        for level in ladder(cycle, policy, config.calendar)
    }
    assert levels == {
        "warning": "Mon 12 00:24",  # 38.4 h of working time: Thu 14 h, Fri 24 h, then Monday
        "breach": "Mon 12 10:00",
        "escalation-1": "Tue 13 10:00",
        "escalation-2": "Thu 15 10:00",
    }


def test_levels_fall_due_in_time(config: Config) -> None:
    """Nothing before the warning; breach only after the due time; a late check gets all."""
    policy = config.policies["asb-high-risk-conference"]
    cycle = cycle_for(config, policy.id, "2014-05-06T10:30")
    assert names(levels_due(cycle, policy, config.calendar, at("2014-05-10T10:29"))) == []
    assert names(levels_due(cycle, policy, config.calendar, at("2014-05-11T10:30"))) == ["warning"]
    assert names(levels_due(cycle, policy, config.calendar, at("2014-05-11T10:31"))) == [
        "warning",
        "breach",
    ]
    assert names(levels_due(cycle, policy, config.calendar, at("2014-06-01T00:00"))) == [
        "warning",
        "breach",
        "escalation-1",
        "escalation-2",
    ]


def test_a_stop_ends_the_ladder(config: Config) -> None:
    """Levels after the stop never fall due; a late stop still had its breach."""
    policy = config.policies["asb-high-risk-conference"]
    cycle = cycle_for(config, policy.id, "2014-05-06T10:30")
    on_time = evolve(cycle, state="stopped", stopped_at=at("2014-05-10T12:00"), outcome="met")
    assert names(schedule(on_time, policy, config.calendar)) == ["warning"]
    late = evolve(cycle, state="stopped", stopped_at=at("2014-05-14T12:00"), outcome="breached")
    assert names(schedule(late, policy, config.calendar)) == ["warning", "breach", "escalation-1"]


def test_a_paused_cycle_gets_no_alerts(config: Config) -> None:
    """While paused, levels after the pause began do not fall due."""
    policy = config.policies["asb-high-risk-conference"]
    cycle = cycle_for(config, policy.id, "2014-05-06T10:30")
    paused = machine.pause((cycle,), policy.id, at("2014-05-08T10:30"))[0]
    assert levels_due(paused, policy, config.calendar, at("2014-06-01T00:00")) == []


def test_next_check(config: Config) -> None:
    """The next check is the earliest unrecorded level; after a check, the next one after it."""
    policy = config.policies["asb-high-risk-conference"]
    cycle = cycle_for(config, policy.id, "2014-05-06T10:30")
    levels = schedule(cycle, policy, config.calendar)
    assert next_check(levels, set()) == cycle.warn_at
    breach_check = cycle.due_at + timedelta(microseconds=1)  # the first moment after due
    assert next_check(levels, {"warning"}) == breach_check
    assert next_check(levels, {"warning"}, after=cycle.due_at) == breach_check  # still pending
    assert next_check(levels, {"warning", "breach"}, after=breach_check) == levels[2].at
    assert next_check(levels, {"warning", "breach", "escalation-1", "escalation-2"}) is None
    assert next_check(levels, set(), after=cycle.due_at + timedelta(days=30)) is None
