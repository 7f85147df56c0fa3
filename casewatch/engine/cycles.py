"""SLA cycles: the pure state machine the rules' effects drive.

A cycle is one run of a policy's clock on a case: started by an event, due after the
policy's target, stopped (met, breached, cancelled or excluded) by later events. While a
cycle of a policy is running or paused no second one starts. Everything here is a
function of the case's ordered events; nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from attrs import evolve, frozen

from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.policies import Policy

RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"
MET, BREACHED, CANCELLED, EXCLUDED = "met", "breached", "cancelled", "excluded"


@frozen
class Cycle:
    policy: str
    number: int
    policy_version: str
    working_days: bool
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    start_event_id: str
    state: str = RUNNING
    paused_since: datetime | None = None
    stopped_at: datetime | None = None
    stop_event_id: str | None = None
    outcome: str | None = None  # decided by an event; see outcome_at for time passing
    breach_reason: str | None = None
    exclusion_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    def outcome_at(self, as_of: datetime) -> str | None:
        """Met, breached, cancelled or excluded as of a moment; None while undecided."""
        if self.outcome is not None:
            return self.outcome
        if self.state == RUNNING and as_of > self.due_at:
            return BREACHED
        return None

    def rag_at(self, as_of: datetime) -> str | None:
        """How a caseworker should read the cycle now: red once breached, amber once the
        warning point has passed, green otherwise; None when excluded or cancelled."""
        outcome = self.outcome_at(as_of)
        if outcome == BREACHED:
            return "red"
        if outcome is not None:
            return "green" if outcome == MET else None
        return "amber" if as_of >= self.warn_at else "green"


def start(
    cycles: Sequence[Cycle], policy: Policy, at: datetime, event_id: str, calendar: WorkCalendar
) -> tuple[Cycle, ...]:
    """A new cycle, unless one of this policy is still running or paused."""
    if any(c.policy == policy.id and c.is_open for c in cycles):
        return tuple(cycles)
    days = policy.target.days
    if policy.target.working:
        due = calendar.add_working_days(at, days)
        warn = calendar.add_working_time(at, timedelta(days=days) * policy.warning_at)
    else:
        due = calendar.add_calendar_days(at, days)
        warn = at + (due - at) * policy.warning_at
    number = 1 + sum(1 for c in cycles if c.policy == policy.id)
    cycle = Cycle(
        policy=policy.id,
        number=number,
        policy_version=policy.version,
        working_days=policy.target.working,
        started_at=at,
        due_at=due,
        warn_at=min(warn, due),
        start_event_id=event_id,
    )
    return (*cycles, cycle)


def stop(
    cycles: Sequence[Cycle], policy_id: str, at: datetime, event_id: str, calendar: WorkCalendar
) -> tuple[Cycle, ...]:
    """The open cycle meets its target if stopped at or before its due time."""

    def change(cycle: Cycle) -> Cycle:
        cycle = _unpause(cycle, at, calendar)
        outcome = MET if at <= cycle.due_at else BREACHED
        return evolve(cycle, state=STOPPED, stopped_at=at, stop_event_id=event_id, outcome=outcome)

    return _replace_open(cycles, policy_id, change)


def pause(cycles: Sequence[Cycle], policy_id: str, at: datetime) -> tuple[Cycle, ...]:
    """A pause starting after the due time changes nothing."""

    def change(cycle: Cycle) -> Cycle:
        if cycle.state != RUNNING or at > cycle.due_at:
            return cycle
        return evolve(cycle, state=PAUSED, paused_since=at)

    return _replace_open(cycles, policy_id, change)


def resume(
    cycles: Sequence[Cycle], policy_id: str, at: datetime, calendar: WorkCalendar
) -> tuple[Cycle, ...]:
    return _replace_open(cycles, policy_id, lambda cycle: _unpause(cycle, at, calendar))


def close(
    cycles: Sequence[Cycle], at: datetime, event_id: str, calendar: WorkCalendar
) -> tuple[Cycle, ...]:
    """Closing a case: open cycles not yet due are cancelled; an overdue one is breached."""

    def end(cycle: Cycle) -> Cycle:
        cycle = _unpause(cycle, at, calendar)
        outcome = BREACHED if at > cycle.due_at else CANCELLED
        return evolve(cycle, state=STOPPED, stopped_at=at, stop_event_id=event_id, outcome=outcome)

    return tuple(end(c) if c.is_open else c for c in cycles)


def exclude(
    cycles: Sequence[Cycle], policy_id: str, at: datetime, event_id: str, reason: str
) -> tuple[Cycle, ...]:
    """The latest cycle started at or before `at` leaves met/breached, whatever its state."""

    def change(cycle: Cycle) -> Cycle:
        if cycle.is_open:
            cycle = evolve(cycle, state=STOPPED, stopped_at=at, stop_event_id=event_id)
        return evolve(cycle, outcome=EXCLUDED, exclusion_reason=reason)

    return _replace_latest(cycles, policy_id, at, change)


def explain(
    cycles: Sequence[Cycle], policy_id: str, at: datetime, reason: str
) -> tuple[Cycle, ...]:
    """The reason shown for a miss of the latest cycle; the latest explanation wins."""
    return _replace_latest(cycles, policy_id, at, lambda c: evolve(c, breach_reason=reason))


def _unpause(cycle: Cycle, at: datetime, calendar: WorkCalendar) -> Cycle:
    """Resume a paused cycle at `at`, moving its warning and due times by the time paused:
    elapsed time for calendar-day targets, working time for working-day targets."""
    if cycle.state != PAUSED or cycle.paused_since is None:
        return cycle
    since = cycle.paused_since
    if cycle.working_days:
        paused = calendar.working_time_between(since, at)

        def shift(moment: datetime) -> datetime:
            return calendar.add_working_time(moment, paused) if paused else moment
    else:
        elapsed = at - since

        def shift(moment: datetime) -> datetime:
            return moment + elapsed

    warn = shift(cycle.warn_at) if cycle.warn_at > since else cycle.warn_at
    return evolve(cycle, state=RUNNING, paused_since=None, due_at=shift(cycle.due_at), warn_at=warn)


def _replace_open(
    cycles: Sequence[Cycle], policy_id: str, change: Callable[[Cycle], Cycle]
) -> tuple[Cycle, ...]:
    return tuple(change(c) if c.policy == policy_id and c.is_open else c for c in cycles)


def _replace_latest(
    cycles: Sequence[Cycle], policy_id: str, at: datetime, change: Callable[[Cycle], Cycle]
) -> tuple[Cycle, ...]:
    candidates = [i for i, c in enumerate(cycles) if c.policy == policy_id and c.started_at <= at]
    if not candidates:
        return tuple(cycles)
    latest = candidates[-1]
    return tuple(change(c) if i == latest else c for i, c in enumerate(cycles))
