"""What a proposal changes, in words a problem-solving group reads: one line per difference
between the policies, rules, calendars and risk matrices in force and the proposed ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from attrs import frozen

from casewatch.engine.policies import Policy, PolicyCatalogue, Target
from casewatch.engine.rules import Rule, RuleSet

NO_CHANGE: Final = "no change"
MATRIX_NAMES: Final = {
    "dash": "DASH checklist (dash.yaml)",
    "asb": "ASB risk matrix (asb_matrix.yaml)",
}


@frozen
class Setup:
    """Everything in a configuration that decides SLA figures."""

    policies: PolicyCatalogue
    rules: RuleSet
    timezone: str
    nation: str
    matrices: Mapping[str, str]  # matrix name -> version


def describe_changes(before: Setup, after: Setup) -> list[str]:
    """Every difference, policies first (in the order they are listed), then rules, the
    calendar and the matrices; ["no change"] when there is none."""
    lines = _policy_changes(before.policies, after.policies)
    lines += _rule_changes(before.rules, after.rules)
    if before.timezone != after.timezone:
        lines.append(f"time zone {before.timezone} -> {after.timezone}")
    if before.nation != after.nation:
        lines.append(f"bank holidays of {before.nation} -> {after.nation}")
    for name, version in before.matrices.items():
        if after.matrices.get(name) != version:
            lines.append(f"{MATRIX_NAMES.get(name, name)} changed: risk assessments re-scored")
    return lines or [NO_CHANGE]


def target_words(target: Target) -> str:
    """`5 calendar days`, `1 working day`."""
    return f"{target.days} {target.kind} day{'' if target.days == 1 else 's'}"


def _policy_changes(before: PolicyCatalogue, after: PolicyCatalogue) -> list[str]:
    lines: list[str] = []
    proposed = {p.id: p for p in after.policies}
    for policy in before.policies:
        new = proposed.get(policy.id)
        if new is None:
            lines.append(f"{policy.id}: policy removed")
        elif new.version != policy.version:
            lines.extend(f"{policy.id}: {words}" for words in _field_changes(policy, new))
    known = set(before.ids)
    lines.extend(
        f"{p.id}: new policy for {_listed(p.case_types)} cases, target {target_words(p.target)}, "
        f"target % {_number(p.target_pct)}"
        for p in after.policies
        if p.id not in known
    )
    return lines


def _field_changes(old: Policy, new: Policy) -> list[str]:
    changes: list[str] = []
    if old.title != new.title:
        changes.append(f"title '{old.title}' -> '{new.title}'")
    if old.case_types != new.case_types:
        changes.append(f"case types {_listed(old.case_types)} -> {_listed(new.case_types)}")
    if old.target != new.target:
        changes.append(f"target {target_words(old.target)} -> {target_words(new.target)}")
    if old.target_pct != new.target_pct:
        changes.append(f"target % {_number(old.target_pct)} -> {_number(new.target_pct)}")
    if old.amber_band != new.amber_band:
        changes.append(f"amber band {_number(old.amber_band)} -> {_number(new.amber_band)}")
    if old.warning_at != new.warning_at:
        changes.append(
            f"warning at {_number(old.warning_at)} -> {_number(new.warning_at)} of the target"
        )
    if old.escalations != new.escalations:
        changes.append(
            f"escalations after {_days(old.escalations)} -> {_days(new.escalations)} working days"
        )
    return changes


def _rule_changes(before: RuleSet, after: RuleSet) -> list[str]:
    lines: list[str] = []
    proposed = {r.id: r for r in after.rules}
    for rule in before.rules:
        new = proposed.get(rule.id)
        if new is None:
            lines.append(f"rule {rule.id}: removed")
            continue
        parts = _rule_parts_changed(rule, new)
        if parts:
            lines.append(f"rule {rule.id}: {', '.join(parts)} changed")
    known = {r.id for r in before.rules}
    lines.extend(
        f"rule {r.id}: new rule ({r.source}:{r.line})" for r in after.rules if r.id not in known
    )
    return lines


def _rule_parts_changed(old: Rule, new: Rule) -> list[str]:
    parts = (
        ("events", old.events, new.events),
        ("case types", old.case_types, new.case_types),
        ("conditions", old.conditions, new.conditions),
        ("effects", old.effects, new.effects),
        ("description", old.description, new.description),
    )
    return [name for name, a, b in parts if a != b]


def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def _days(days: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in days) or "none"


def _number(value: float) -> str:
    """85.0 -> 85, 87.5 -> 87.5: as the figure was written in the file."""
    return f"{value:g}"
