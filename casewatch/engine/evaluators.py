"""Rule matchers behind one interface: durable-rules, fenced, and a pure-Python reference.

Both receive the same flat snapshot and return the indexes of the rules that match, in
rule order; a differential test keeps them in agreement. durable-rules is used only in the
narrow way docs/architecture.md sets out: one host per process (created after fork),
stateless evaluation (assert the snapshot as a fact on one fixed session, collect,
retract), its exception slot checked every time, and no timers, per-case sessions or
persistence. This is the only
module that imports durable.

durable-rules' C core does not load on Python 3.13 and later (it calls a C API function
3.13 removed), so it is an optional extra: the setting `auto`, the default, picks durable
wherever it loads and the reference matcher elsewhere. Both give identical derivations.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from casewatch.engine.rules import Condition, Rule, RuleSet

EVALUATORS: Final = ("auto", "durable", "reference")
DURABLE_MISSING: Final = (
    "durable-rules is not installed or does not load on this Python "
    "(it loads on 3.11 and 3.12): choose 'auto' or 'reference'"
)


class Evaluator(Protocol):
    def matching(self, snapshot: Mapping[str, Any]) -> list[int]:
        """Indexes of the rules whose conditions hold for this snapshot, ascending."""
        ...


class RuleEvaluationError(RuntimeError):
    """The matcher failed; the event's effects cannot be trusted."""


def _comparable(condition: Condition) -> Any:
    value = condition.comparable
    if isinstance(value, bool):
        return int(value)
    return value


class ReferenceEvaluator:
    """Plain Python: the specification the durable matcher is tested against."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules.rules

    def matching(self, snapshot: Mapping[str, Any]) -> list[int]:
        return [rule.index for rule in self.rules if _matches(rule, snapshot)]


def _matches(rule: Rule, snapshot: Mapping[str, Any]) -> bool:  # noqa: PLR0911 - one per test
    if snapshot["type"] not in rule.events or snapshot["case_type"] not in rule.case_types:
        return False
    # Another case's event (the same victim's) matches only a rule that counts across
    # linked cases, and only if it happened on a case of that rule's types.
    if snapshot["linked"] and (
        not rule.across_linked or snapshot["source_case_type"] not in rule.case_types
    ):
        return False
    for condition in rule.conditions:
        actual, expected = snapshot[condition.key], _comparable(condition)
        if condition.operator == "is" and actual != expected:
            return False
        if condition.operator == "in" and actual not in expected:
            return False
        if condition.operator == "below" and not actual < expected:
            return False
        if condition.operator == "at_least" and not actual >= expected:
            return False
    return True


class DurableEvaluator:
    """durable-rules as the matcher, evaluated statelessly on one fixed session.

    Each snapshot is asserted as a fact through durable's C core and the rules it matched
    are read off the core's action queue by name; the fact is then retracted. No Python
    action runs inside durable (its Python layer would build a closure, re-serialise the
    session state and catch any error into the state's exception slot, for every match),
    so nothing can be swallowed there: the core's own failures come back as result codes
    or exceptions, and both are raised.

    Because every evaluation is stateless (nothing stays in the session between two
    snapshots), equal snapshots match the same rules: the answer for each distinct
    snapshot is kept (up to `REMEMBERED`, then forgotten wholesale) and a repeat is
    answered from it. A snapshot holds facts about levels, counts and kinds, never an
    id or a time, so across a file of cases most of them repeat."""

    REMEMBERED: Final = 4_096

    _lock: Final = threading.Lock()
    _host: Any = None
    _host_pid: int | None = None
    _registered: Final[dict[str, Any]] = {}  # ruleset name -> its handle in the C core
    _sequence: Final = itertools.count()

    def __init__(self, rules: RuleSet) -> None:
        self.name = f"casewatch_{rules.version}"
        with self._lock:
            host = self._process_host()
            if self.name not in self._registered:
                host.register_rulesets({self.name: _definition(rules)})
                self._registered[self.name] = host.get_ruleset(self.name)._handle
        self._handle = self._registered[self.name]
        self._index = {rule.id: rule.index for rule in rules.rules}
        self._answers: dict[tuple[tuple[str, Any], ...], list[int]] = {}
        self.asked = 0  # snapshots durable itself evaluated: the others were repeats

    @classmethod
    def _process_host(cls) -> Any:
        # A host's state lives in the C core of this process; a forked child builds its own.
        if cls._host is None or cls._host_pid != os.getpid():
            from durable import engine  # noqa: PLC0415 - imported only when chosen

            class _TimerlessHost(engine.Host):  # type: ignore[misc]
                def _run(self) -> None:
                    """No dispatch threads: casewatch never uses durable's timers."""

            host = _TimerlessHost()
            _check_canary(host)
            cls._host = host
            cls._host_pid = os.getpid()
            cls._registered.clear()
        return cls._host

    def matching(self, snapshot: Mapping[str, Any]) -> list[int]:
        key = tuple(snapshot.items())  # the same facts in another order only miss
        answer = self._answers.get(key)
        if answer is None:
            answer = self._evaluate(snapshot)
            if len(self._answers) >= self.REMEMBERED:
                self._answers.clear()
            self._answers[key] = answer
        return list(answer)

    def _evaluate(self, snapshot: Mapping[str, Any]) -> list[int]:
        with self._lock:
            self.asked += 1
            return _core_matches(self._handle, self._index, snapshot, next(self._sequence))


def _core_matches(
    handle: Any, index: Mapping[str, int], snapshot: Mapping[str, Any], sequence: int
) -> list[int]:
    """Assert the snapshot on durable's C core, read the matched rules off its action
    queue by name, retract it. The caller holds the lock."""
    import durable_rules_engine as core  # noqa: PLC0415 - durable's C core, loaded with it

    # Serialised once, as durable's own layer does, for the assert and the retract.
    fact = json.dumps({**snapshot, "casewatch_seq": sequence}, ensure_ascii=False)
    found: list[int] = []
    code, state = core.assert_fact(handle, fact)
    try:
        if code == _NOT_HANDLED:  # no rule's pattern takes this fact
            return []
        if code != _OK:
            raise RuleEvaluationError(f"durable-rules refused a snapshot (code {code})")
        started = core.start_action_for_state(handle, state)
        message = started[1] if started else None
        while message:  # {rule id: {"m": fact}}, one matched rule at a time
            found.extend(index[rule_id] for rule_id in json.loads(message))
            message = core.complete_and_start_action(handle, state)
    finally:
        core.retract_fact(handle, fact)
    return sorted(set(found))


_OK: Final = 0  # durable's RULES_OK
_NOT_HANDLED: Final = 1  # durable's ERR_EVENT_NOT_HANDLED


CANARY: Final = "casewatch_canary"
DURABLE_SILENT: Final = (
    "durable-rules loaded but its start-up check matched nothing where one rule must "
    "match (its C core swallowed an error): choose the matcher 'reference'"
)


Matches = Callable[[Any, Mapping[str, int], Mapping[str, Any], int], list[int]]


def _check_canary(host: Any, name: str = CANARY, matches: Matches = _core_matches) -> None:
    """One rule that must match one fact and not another, before any case is derived,
    read off the core exactly as every snapshot is.

    durable's C core has swallowed errors before: on Python 3.12, with warnings turned
    into errors, every rule silently matched nothing. A matcher that cannot find a match
    it must find is refused here, in words, instead of deriving no cycles at all.
    """
    condition = {"$and": [{"type": "canary"}, {"$gte": {"n": 2}}]}
    host.register_rulesets(
        {name: {"canary": {"all": [{"m": condition}], "run": _read_from_the_core}}}
    )
    handle = host.get_ruleset(name)._handle
    seen = [
        matches(handle, {"canary": 0}, {"type": "canary", "n": n}, sequence)
        for sequence, n in enumerate((3, 1))
    ]
    if seen != [[0], []]:
        raise RuleEvaluationError(DURABLE_SILENT)


def _definition(rules: RuleSet) -> dict[str, Any]:
    definition: dict[str, Any] = {}
    for rule in rules.rules:
        terms: list[Any] = [
            _any_of("type", sorted(rule.events)),
            _any_of("case_type", sorted(rule.case_types)),
        ]
        terms.append(
            _any_of("source_case_type", sorted(rule.case_types))
            if rule.across_linked
            else {"linked": 0}
        )
        terms.extend(_term(condition) for condition in rule.conditions)
        definition[rule.id] = {"all": [{"m": {"$and": terms}}], "run": _read_from_the_core}
    return definition


def _read_from_the_core(_closure: Any) -> None:
    """The action durable requires of every rule. It never runs: casewatch reads each
    match off the core's action queue itself and never lets durable dispatch actions."""


def _any_of(key: str, values: list[Any]) -> dict[str, Any]:
    if len(values) == 1:
        return {key: values[0]}
    return {"$or": [{key: value} for value in values]}


def _term(condition: Condition) -> dict[str, Any]:
    value = _comparable(condition)
    match condition.operator:
        case "is":
            return {condition.key: value}
        case "in":
            return _any_of(condition.key, list(value))
        case "below":
            return {"$lt": {condition.key: value}}
        case _:
            return {"$gte": {condition.key: value}}


@functools.cache
def durable_loads() -> bool:
    """durable-rules is installed and its C core loads in this interpreter."""
    try:
        from durable import engine  # noqa: F401, PLC0415 - the check is the import
    except ImportError:  # not installed, or "undefined symbol" from its C core
        return False
    return True


def active_matcher(kind: str) -> str:
    """The matcher a setting selects here: `auto` is durable where it loads."""
    if kind == "auto":
        return "durable" if durable_loads() else "reference"
    return kind


def make_evaluator(kind: str, rules: RuleSet) -> Evaluator:
    kind = active_matcher(kind)
    if kind == "durable":
        if not durable_loads():
            raise RuntimeError(DURABLE_MISSING)
        return DurableEvaluator(rules)
    if kind == "reference":
        return ReferenceEvaluator(rules)
    raise ValueError(f"unknown evaluator '{kind}' (choose {', '.join(EVALUATORS)})")
