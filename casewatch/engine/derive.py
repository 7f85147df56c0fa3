"""Derive a case's SLA cycles and flags by replaying its events through the rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from attrs import frozen

from casewatch.cases.events import Event, SlaEvent
from casewatch.cases.state import CaseState, LinkedEvent, apply
from casewatch.engine import cycles as machine
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.cycles import Cycle
from casewatch.engine.evaluators import Evaluator
from casewatch.engine.rules import Effect, Rule, RuleSet
from casewatch.engine.snapshot import build_snapshot
from casewatch.engine.vocabulary import FROM_EVENT


@frozen
class RaisedFlag:
    flag: str
    raised_at: datetime
    event_id: str
    rule_id: str
    rule_version: str


@frozen
class Fired:
    """One rule matching one event: the audit trail of a derivation."""

    event_id: str
    rule_id: str


@frozen
class Derivation:
    state: CaseState
    cycles: tuple[Cycle, ...]
    flags: tuple[RaisedFlag, ...]
    fired: tuple[Fired, ...]
    ruleset_version: str


def derive(
    case_id: str,
    events: Iterable[Event],
    rules: RuleSet,
    evaluator: Evaluator,
    calendar: WorkCalendar,
    *,
    linked: Sequence[LinkedEvent] = (),
) -> Derivation:
    """Replay events (already in effect order) and collect what the rules make of them.

    `linked` are the incidents and referrals of the cases linked to this one (the same
    victim's), in effect order: the windows of rules that count across linked cases
    include them, and each may raise such a rule's flag here, at its own time, if this
    case is open then (opened at or before it and not closed). At equal times this case's
    own events come first. Without them, a case is derived alone, exactly as before."""
    state = CaseState(case_id=case_id)
    cycles: tuple[Cycle, ...] = ()
    flags: dict[str, RaisedFlag] = {}
    fired: list[Fired] = []
    next_linked = 0
    for event in events:
        while next_linked < len(linked) and linked[next_linked].event.at < event.at:
            other = linked[next_linked]
            _linked_flags(other, state, linked, rules, evaluator, calendar, flags, fired)
            next_linked += 1
        before, state = state, apply(state, event)
        if event.TYPE not in rules.event_types:
            continue  # no rule listens to this kind of event: nothing can match
        snapshot = build_snapshot(before, event, state, rules, calendar, linked=linked)
        for index in evaluator.matching(snapshot):
            rule = rules.by_index(index)
            fired.append(Fired(event.event_id, rule.id))
            for effect in rule.effects:
                cycles = _apply_effect(
                    effect,
                    rule=rule,
                    event=event,
                    state=state,
                    cycles=cycles,
                    flags=flags,
                    rules=rules,
                    calendar=calendar,
                )
    for other in linked[next_linked:]:
        _linked_flags(other, state, linked, rules, evaluator, calendar, flags, fired)
    return Derivation(
        state=state,
        cycles=cycles,
        flags=tuple(flags.values()),
        fired=tuple(fired),
        ruleset_version=rules.version,
    )


def _linked_flags(  # noqa: PLR0917 - internal: the loop's state, passed along
    other: LinkedEvent,
    state: CaseState,
    linked: Sequence[LinkedEvent],
    rules: RuleSet,
    evaluator: Evaluator,
    calendar: WorkCalendar,
    flags: dict[str, RaisedFlag],
    fired: list[Fired],
) -> None:
    """A linked case's event: only rules counting across linked cases may match it (the
    evaluators check `linked`), and it can only raise their flags, on an open case."""
    event = other.event
    if not state.is_open or state.opened_at is None:
        return
    could_raise = rules.linked_flags.get((event.TYPE, state.case_type or "", other.case_type))
    if not could_raise or could_raise <= flags.keys():
        return  # no rule could match it, or its flags are raised already (kept once raised)
    snapshot = build_snapshot(
        state, event, state, rules, calendar, linked=linked, source_case_type=other.case_type
    )
    for index in evaluator.matching(snapshot):
        rule = rules.by_index(index)
        fired.append(Fired(event.event_id, rule.id))
        for effect in rule.effects:
            if effect.kind == "raise_flag":
                flags.setdefault(
                    effect.target,
                    RaisedFlag(effect.target, event.at, event.event_id, rule.id, rule.version),
                )


def _apply_effect(  # noqa: PLR0911 - one return per effect kind
    effect: Effect,
    *,
    rule: Rule,
    event: Event,
    state: CaseState,
    cycles: tuple[Cycle, ...],
    flags: dict[str, RaisedFlag],
    rules: RuleSet,
    calendar: WorkCalendar,
) -> tuple[Cycle, ...]:
    target = _target(effect, event)
    if target is None:
        return cycles
    match effect.kind:
        case "start_cycle":
            policy = rules.policies[target]
            # No cycle starts on a closed case, whatever a rule says.
            if state.is_open and policy.applies_to(state.case_type):
                return machine.start(cycles, policy, event.at, event.event_id, calendar)
        case "stop_cycle":
            return machine.stop(cycles, target, event.at, event.event_id, calendar)
        case "pause_cycle":
            return machine.pause(cycles, target, event.at)
        case "resume_cycle":
            return machine.resume(cycles, target, event.at, calendar)
        case "cancel_cycle":
            return machine.close(cycles, event.at, event.event_id, calendar)
        case "exclude_cycle" if isinstance(event, SlaEvent):
            return machine.exclude(cycles, target, event.at, event.event_id, event.reason)
        case "explain_breach" if isinstance(event, SlaEvent):
            return machine.explain(cycles, target, event.at, event.reason)
        case "raise_flag":
            flags.setdefault(
                target, RaisedFlag(target, event.at, event.event_id, rule.id, rule.version)
            )
        case "clear_flag":
            flags.pop(target, None)
    return cycles


def _target(effect: Effect, event: Event) -> str | None:
    if effect.target != FROM_EVENT:
        return effect.target
    return event.policy if isinstance(event, SlaEvent) else None
