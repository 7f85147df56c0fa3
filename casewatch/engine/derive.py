"""Derive a case's SLA cycles and flags by replaying its events through the rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from attrs import frozen

from casewatch.cases.events import Event, SlaEvent
from casewatch.cases.state import CaseState, apply
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
) -> Derivation:
    """Replay events (already in effect order) and collect what the rules make of them."""
    state = CaseState(case_id=case_id)
    cycles: tuple[Cycle, ...] = ()
    flags: dict[str, RaisedFlag] = {}
    fired: list[Fired] = []
    for event in events:
        before, state = state, apply(state, event)
        if event.TYPE not in rules.event_types:
            continue  # no rule listens to this kind of event: nothing can match
        snapshot = build_snapshot(before, event, state, rules, calendar)
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
    return Derivation(
        state=state,
        cycles=cycles,
        flags=tuple(flags.values()),
        fired=tuple(fired),
        ruleset_version=rules.version,
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
