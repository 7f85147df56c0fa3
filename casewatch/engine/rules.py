"""Declarative rules: loading, validating (with file and line) and their compiled form.

A rule file holds a family of rules:

    family: asb
    thresholds: {name: number}        # optional; referenced as $name in conditions
    rules:
      - id: asb-high-risk-starts-clocks
        description: ...
        case_types: [asb]
        when:
          event: risk_assessed           # or a list of event types
          conditions:                    # all must hold
            - {fact: risk_before, below: high}
        then:
          - start_cycle: asb-high-risk-conference

Facts and effects come from engine.vocabulary; anything else is reported as a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

import yaml
from attrs import evolve, field, frozen

from casewatch.cases.events import CASE_TYPES, RISK_LEVELS, content_hash, level_rank
from casewatch.engine.policies import YAML_LOADER, PolicyCatalogue, load_yaml
from casewatch.engine.vocabulary import (
    ALL_CYCLES,
    EFFECTS,
    EVENT_NAMES,
    FACTS,
    FROM_EVENT,
    NO_LEVEL,
    POLICY_EFFECTS,
)


class RuleFileError(ValueError):
    """Problems found in rule files; each names its file and line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@frozen
class Condition:
    fact: str
    operator: str
    value: Any
    days: int | None = None
    months: int | None = None
    to: str | None = None
    # Set on the windowed conditions of a rule that counts across linked cases: the case
    # types whose linked cases' incidents and referrals count (the rule's own).
    linked_case_types: frozenset[str] | None = None

    @property
    def key(self) -> str:
        """The flat snapshot key this condition reads."""
        window = f"{self.days}d" if self.days is not None else f"{self.months}m"
        linked = (
            "_linked_" + "_".join(sorted(self.linked_case_types))
            if self.linked_case_types is not None
            else ""
        )
        if self.fact == "incidents_within":
            return f"incidents_within_{window}{linked}"
        if self.fact == "previous_referral_within":
            return f"previous_{self.to}_within_{window}{linked}"
        return self.fact

    @property
    def comparable(self) -> Any:
        """The value as the snapshot holds it: risk levels become ranks (none is -1)."""
        if FACTS[self.fact].kind == "level":
            return (
                [_rank(v) for v in self.value]
                if isinstance(self.value, list)
                else _rank(self.value)
            )
        return self.value


@frozen
class Effect:
    kind: str
    target: str


@frozen
class Rule:
    id: str
    family: str
    description: str
    case_types: frozenset[str]
    events: frozenset[str]
    conditions: tuple[Condition, ...]
    effects: tuple[Effect, ...]
    index: int  # position across all files: effects apply in this order
    source: str
    line: int
    version: str
    # `when: {across_linked_cases: true}`: the rule's windows count the events of cases
    # linked to this one (the same victim's), and those events may raise its flags here.
    across_linked: bool = False


@frozen(slots=False)  # cached_property needs an instance dict
class RuleSet:
    rules: tuple[Rule, ...]
    policies: PolicyCatalogue
    version: str = field()

    @cached_property
    def event_types(self) -> frozenset[str]:
        """Event types some rule listens to: no other event can match anything."""
        return frozenset(t for rule in self.rules for t in rule.events)

    @cached_property
    def windows_by_event(self) -> Mapping[str, tuple[Condition, ...]]:
        """The windowed facts the rules for each event type read; the snapshot of an event
        of another type leaves them out (counting them is the costly part)."""
        needed: dict[str, dict[str, Condition]] = {}
        for rule in self.rules:
            for condition in rule.conditions:
                if FACTS[condition.fact].parameters:
                    for event_type in rule.events:
                        needed.setdefault(event_type, {})[condition.key] = condition
        return {event_type: tuple(c.values()) for event_type, c in needed.items()}

    @cached_property
    def linked_flags(self) -> Mapping[tuple[str, str, str], frozenset[str]]:
        """The flags another case's event can raise here, by (its type, this case's type,
        the other case's type), through the rules that count across linked cases: none,
        or all raised already, and the event changes nothing."""
        flags: dict[tuple[str, str, str], set[str]] = {}
        for rule in self.rules:
            if rule.across_linked:
                for event_type in rule.events:
                    for here in rule.case_types:
                        for there in rule.case_types:
                            flags.setdefault((event_type, here, there), set()).update(
                                e.target for e in rule.effects
                            )
        return {key: frozenset(names) for key, names in flags.items()}

    def by_index(self, index: int) -> Rule:
        return self.rules[index]


def _rank(level: str) -> int:
    return -1 if level == NO_LEVEL else level_rank(level)


# -- loading --------------------------------------------------------------------------


def load_rule_files(
    sources: Iterable[tuple[str, str]], policies: PolicyCatalogue, policy_source: str = "policies"
) -> RuleSet:
    """Parse and check rule files given as (name, text); raise RuleFileError listing every
    problem with its file and line."""
    problems: list[str] = []
    rules: list[Rule] = []
    texts: list[str] = []
    for source, text in sources:
        texts.append(text)
        rules.extend(_load_file(source, text, policies, problems, start=len(rules)))
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            problems.append(
                f"{rule.source}:{rule.line}: rule id '{rule.id}' is already used at "
                f"{seen[rule.id].source}:{seen[rule.id].line}"
            )
        seen.setdefault(rule.id, rule)
    started = {e.target for r in rules for e in r.effects if e.kind == "start_cycle"}
    problems.extend(
        f"{policy_source}: policy '{policy.id}' is never started by any rule"
        for policy in policies.policies
        if policy.id not in started
    )
    if problems:
        raise RuleFileError(problems)
    version = content_hash({"rules": texts, "policies": [p.version for p in policies.policies]})[
        :12
    ]
    return RuleSet(rules=tuple(rules), policies=policies, version=version)


class _Node:
    """A YAML value with the line it started on (1-based)."""

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def _compose(text: str, source: str, problems: list[str]) -> _Node | None:
    try:
        node = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problems.append(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})")
        return None
    if node is None:
        problems.append(f"{source}:1: the file is empty")
        return None
    return _convert(node)


def _convert(node: yaml.Node) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return _Node({k.value: _convert(v) for k, v in node.value}, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(item) for item in node.value], line)
    return _Node(load_yaml(yaml.serialize(node)), line)


def _plain(node: _Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def _load_file(
    source: str, text: str, policies: PolicyCatalogue, problems: list[str], start: int
) -> list[Rule]:
    root = _compose(text, source, problems)
    if root is None:
        return []
    if not isinstance(root.value, dict):
        problems.append(f"{source}:{root.line}: expected a mapping with 'family' and 'rules'")
        return []
    top = root.value
    family = top.get("family")
    if family is None or not isinstance(family.value, str):
        problems.append(f"{source}:{root.line}: 'family' (a name for this file's rules) is missing")
    thresholds = _thresholds(top.get("thresholds"), source, problems)
    raw_rules = top.get("rules")
    if raw_rules is None or not isinstance(raw_rules.value, list):
        problems.append(f"{source}:{root.line}: 'rules' must be a list")
        return []
    rules: list[Rule] = []
    for node in raw_rules.value:
        rule = _rule(
            node,
            source,
            str(family.value if family else ""),
            thresholds,
            policies,
            problems,
            start + len(rules),
        )
        if rule is not None:
            rules.append(rule)
    return rules


def _thresholds(node: _Node | None, source: str, problems: list[str]) -> dict[str, int]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        problems.append(f"{source}:{node.line}: 'thresholds' must map names to numbers")
        return {}
    values: dict[str, int] = {}
    for name, value in node.value.items():
        if isinstance(value.value, bool) or not isinstance(value.value, int) or value.value < 0:
            problems.append(f"{source}:{value.line}: threshold '{name}' must be a whole number")
        else:
            values[name] = value.value
    return values


def _rule(  # noqa: PLR0917 - internal, called once with every argument named by position
    node: _Node,
    source: str,
    family: str,
    thresholds: Mapping[str, int],
    policies: PolicyCatalogue,
    problems: list[str],
    index: int,
) -> Rule | None:
    before = len(problems)
    where = f"{source}:{node.line}"
    if not isinstance(node.value, dict):
        problems.append(f"{where}: each rule must be a mapping")
        return None
    body = node.value
    unknown = set(body) - {"id", "description", "case_types", "when", "then"}
    problems.extend(
        f"{source}:{body[key].line}: unknown rule key '{key}'" for key in sorted(unknown)
    )
    rule_id = _text(body.get("id"), where, "id", problems)
    description = _text(body.get("description"), where, "description", problems)
    case_types = _names(body.get("case_types"), where, "case_types", CASE_TYPES, problems)
    when = body.get("when")
    events: list[str] = []
    conditions: list[Condition] = []
    across_linked = False
    if when is None or not isinstance(when.value, dict):
        problems.append(f"{where}: 'when' must be a mapping with 'event' and optional 'conditions'")
    else:
        events = _names(
            when.value.get("event"),
            f"{source}:{when.line}",
            "event",
            EVENT_NAMES,
            problems,
            single_ok=True,
        )
        across_linked = _across_linked(when.value.get("across_linked_cases"), source, problems)
        raw_conditions = when.value.get("conditions")
        if raw_conditions is not None:
            if not isinstance(raw_conditions.value, list):
                problems.append(f"{source}:{raw_conditions.line}: 'conditions' must be a list")
            else:
                for item in raw_conditions.value:
                    condition = _condition(item, source, thresholds, problems)
                    if condition is not None:
                        conditions.append(condition)
    effects = _effects(body.get("then"), where, source, policies, case_types, problems)
    if across_linked:
        if any(effect.kind != "raise_flag" for effect in effects):
            problems.append(
                f"{where}: a rule that counts across linked cases may only raise flags "
                "(another case's event never starts or stops this case's clocks)"
            )
        conditions = [
            evolve(c, linked_case_types=frozenset(case_types)) if FACTS[c.fact].parameters else c
            for c in conditions
        ]
    if len(problems) > before or rule_id is None:
        return None
    return Rule(
        id=rule_id,
        family=family,
        description=description or "",
        case_types=frozenset(case_types),
        events=frozenset(events),
        conditions=tuple(conditions),
        effects=tuple(effects),
        index=index,
        source=source,
        line=node.line,
        version=content_hash(_plain(node))[:12],
        across_linked=across_linked,
    )


def _across_linked(node: _Node | None, source: str, problems: list[str]) -> bool:
    if node is None:
        return False
    if not isinstance(node.value, bool):
        problems.append(f"{source}:{node.line}: 'across_linked_cases' is true or false")
        return False
    return node.value


def _text(node: _Node | None, where: str, name: str, problems: list[str]) -> str | None:
    if node is None or not isinstance(node.value, str) or not node.value.strip():
        problems.append(f"{where}: '{name}' must be non-empty text")
        return None
    return node.value.strip()


def _names(
    node: _Node | None,
    where: str,
    name: str,
    allowed: Sequence[str],
    problems: list[str],
    *,
    single_ok: bool = False,
) -> list[str]:
    if node is None:
        problems.append(f"{where}: '{name}' is missing")
        return []
    values = [node] if single_ok and isinstance(node.value, str) else node.value
    if not isinstance(values, list) or not values:
        problems.append(f"{source_line(node, where)}: '{name}' must be a list of names")
        return []
    names = []
    for item in values:
        if item.value not in allowed:
            problems.append(
                f"{source_line(item, where)}: '{item.value}' is not a known {name} "
                f"({', '.join(allowed)})"
            )
        else:
            names.append(item.value)
    return names


def source_line(node: _Node, where: str) -> str:
    return f"{where.rsplit(':', 1)[0]}:{node.line}"


def _condition(  # noqa: PLR0911 - one early return per kind of problem reads best
    node: _Node, source: str, thresholds: Mapping[str, int], problems: list[str]
) -> Condition | None:
    where = f"{source}:{node.line}"
    if not isinstance(node.value, dict):
        problems.append(f"{where}: a condition is a mapping like {{fact: risk_after, is: high}}")
        return None
    raw = {k: _resolve(v, thresholds, where, problems) for k, v in _plain(node).items()}
    fact = raw.pop("fact", None)
    spec = FACTS.get(fact) if isinstance(fact, str) else None
    if spec is None:
        problems.append(f"{where}: unknown fact '{fact}' (facts: {', '.join(FACTS)})")
        return None
    params = {p: raw.pop(p) for p in spec.parameters if p in raw}
    operators = [k for k in raw if k in spec.operators]
    extra = [k for k in raw if k not in spec.operators]
    if extra or len(operators) != 1:
        problems.append(
            f"{where}: fact '{fact}' takes one of {', '.join(spec.operators)}"
            + (f" and parameters {', '.join(spec.parameters)}" if spec.parameters else "")
            + (f"; unexpected: {', '.join(extra)}" if extra else "")
        )
        return None
    operator = operators[0]
    value = raw[operator]
    if not _value_fits(spec.kind, spec.choices, operator, value):
        problems.append(f"{where}: '{value}' does not fit fact '{fact}' with '{operator}'")
        return None
    if spec.parameters:
        windows = [p for p in ("days", "months") if p in params]
        if len(windows) != 1 or not isinstance(params[windows[0]], int) or params[windows[0]] < 1:
            problems.append(f"{where}: fact '{fact}' needs exactly one of days or months (>= 1)")
            return None
        if "to" in spec.parameters and params.get("to") not in FACTS["referral_to"].choices:
            problems.append(f"{where}: fact '{fact}' needs 'to' (a referral target)")
            return None
    return Condition(
        fact=fact,
        operator=operator,
        value=value,
        days=params.get("days"),
        months=params.get("months"),
        to=params.get("to"),
    )


def _resolve(value: Any, thresholds: Mapping[str, int], where: str, problems: list[str]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in thresholds:
            problems.append(f"{where}: threshold '{value}' is not defined in 'thresholds'")
            return None
        return thresholds[value[1:]]
    return value


def _value_fits(kind: str, choices: Sequence[str], operator: str, value: Any) -> bool:
    values = value if operator == "in" else [value]
    if operator == "in" and (not isinstance(value, list) or not value):
        return False
    for item in values:
        if kind == "level" and item not in (*RISK_LEVELS, NO_LEVEL):
            return False
        if kind == "text" and (not isinstance(item, str) or (choices and item not in choices)):
            return False
        if kind == "count" and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
            return False
        if kind == "boolean" and not isinstance(item, bool):
            return False
    return True


def _effects(  # noqa: PLR0917 - internal, called once
    node: _Node | None,
    where: str,
    source: str,
    policies: PolicyCatalogue,
    case_types: Sequence[str],
    problems: list[str],
) -> list[Effect]:
    if node is None or not isinstance(node.value, list) or not node.value:
        problems.append(f"{where}: 'then' must list at least one effect")
        return []
    effects = []
    for item in node.value:
        at = f"{source}:{item.line}"
        if not isinstance(item.value, dict) or len(item.value) != 1:
            problems.append(
                f"{at}: an effect is one 'kind: target' pair, e.g. start_cycle: <policy>"
            )
            continue
        [(kind, target_node)] = item.value.items()
        target = target_node.value
        if kind not in EFFECTS:
            problems.append(f"{at}: unknown effect '{kind}' (effects: {', '.join(EFFECTS)})")
            continue
        if not isinstance(target, str) or not target:
            problems.append(f"{at}: effect '{kind}' needs a target name")
            continue
        if kind in POLICY_EFFECTS:
            allowed_special = {
                "cancel_cycle": {ALL_CYCLES},
                "start_cycle": set(),
                "stop_cycle": set(),
            }.get(kind, {FROM_EVENT})
            if target not in allowed_special:
                if target not in policies.ids:
                    problems.append(f"{at}: '{target}' is not a policy in the policy file")
                    continue
                policy = policies[target]
                wrong = sorted(set(case_types) - policy.case_types)
                if wrong:
                    problems.append(
                        f"{at}: policy '{target}' does not apply to {', '.join(wrong)} cases"
                    )
                    continue
        effects.append(Effect(kind=kind, target=target))
    return effects
