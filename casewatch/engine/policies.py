"""SLA policies as data: targets, alert ladders and RAG bands, loaded from config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml
from attrs import frozen

from casewatch.cases.events import CASE_TYPES, content_hash

TARGET_KINDS: Final = ("calendar", "working")
POLICY_FIELDS: Final = (
    "id",
    "title",
    "case_types",
    "target",
    "target_pct",
    "amber_band",
    "warning_at",
    "escalations",
)
TARGET_FIELDS: Final = ("days", "kind")
# libyaml's loader where PyYAML was built with it: config is read on every command, and
# the pure-Python parser costs a visible part of a second.
YAML_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load, faster."""
    return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader


class PolicyConfigError(ValueError):
    """A policy file that cannot be used; names the file and the entry at fault."""


@frozen
class Target:
    days: int
    kind: str  # "calendar" or "working"

    @property
    def working(self) -> bool:
        return self.kind == "working"


@frozen
class Policy:
    id: str
    title: str
    case_types: frozenset[str]
    target: Target
    target_pct: float
    amber_band: float
    warning_at: float
    escalations: tuple[int, ...]
    version: str

    def applies_to(self, case_type: str | None) -> bool:
        return case_type in self.case_types


@frozen
class PolicyCatalogue:
    policies: tuple[Policy, ...]

    def __getitem__(self, policy_id: str) -> Policy:
        for policy in self.policies:
            if policy.id == policy_id:
                return policy
        raise KeyError(policy_id)

    def case_types(self) -> Mapping[str, frozenset[str]]:
        """Policy id -> the case types it applies to: what event validation needs."""
        return {p.id: p.case_types for p in self.policies}

    @property
    def ids(self) -> Sequence[str]:
        return [p.id for p in self.policies]


def policies_from_text(text: str, source: str) -> tuple[Any, PolicyCatalogue]:
    """Parse a policy file, naming the line of the entry at fault in any error."""
    data, lines = yaml_list_with_lines(text, source, "policies", PolicyConfigError)
    return data, policies_from_mapping(data, source, lines)


def yaml_list_with_lines(
    text: str, source: str, key: str, error: type[ValueError]
) -> tuple[Any, list[int]]:
    """A config file's data and the line each entry of its top-level `key` list starts on,
    so an error can point a partnership's analyst at the entry to fix."""
    try:
        data = load_yaml(text)
        root = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise error(f"{source}{line}: not valid YAML") from None
    lines: list[int] = []
    if isinstance(root, yaml.MappingNode):
        for name, value in root.value:
            if name.value == key and isinstance(value, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in value.value]
    return data, lines


def policies_from_mapping(data: Any, source: str, lines: Sequence[int] = ()) -> PolicyCatalogue:
    if not isinstance(data, Mapping) or not isinstance(data.get("policies"), list):
        raise PolicyConfigError(f"{source}: expected a top-level 'policies' list")
    policies: list[Policy] = []
    for index, entry in enumerate(data["policies"], start=1):
        where = (
            f"{source}:{lines[index - 1]}"
            if len(lines) >= index
            else f"{source}: policies[{index}]"
        )
        policy = _policy(entry, where)
        if any(p.id == policy.id for p in policies):
            raise PolicyConfigError(f"{where}: policy id '{policy.id}' appears twice")
        policies.append(policy)
    return PolicyCatalogue(tuple(policies))


def _policy(entry: Any, where: str) -> Policy:
    if not isinstance(entry, Mapping):
        raise PolicyConfigError(f"{where} must be a mapping")
    pid = entry.get("id")
    if not isinstance(pid, str) or not pid:
        raise PolicyConfigError(f"{where} needs an 'id'")
    where = f"{where} ('{pid}')"
    # A misspelt field would otherwise be ignored and its default used without a word:
    # a proposal or a live file must say only what casewatch reads.
    unknown = sorted(str(key) for key in entry if key not in POLICY_FIELDS)
    if unknown:
        raise PolicyConfigError(
            f"{where}: unknown field {', '.join(repr(k) for k in unknown)} "
            f"(fields: {', '.join(POLICY_FIELDS)})"
        )
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PolicyConfigError(f"{where} needs a 'title'")
    case_types = entry.get("case_types")
    if (
        not isinstance(case_types, list)
        or not case_types
        or any(t not in CASE_TYPES for t in case_types)
    ):
        raise PolicyConfigError(f"{where}: case_types must list some of {', '.join(CASE_TYPES)}")
    target = entry.get("target")
    if not isinstance(target, Mapping):
        raise PolicyConfigError(f"{where}: target must be {{days: N, kind: calendar|working}}")
    extra = sorted(str(key) for key in target if key not in TARGET_FIELDS)
    if extra:
        raise PolicyConfigError(
            f"{where}: unknown target field {', '.join(repr(k) for k in extra)} "
            "(target is {days: N, kind: calendar|working})"
        )
    days, kind = target.get("days"), target.get("kind")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PolicyConfigError(f"{where}: target.days must be a whole number, 1 or more")
    if kind not in TARGET_KINDS:
        raise PolicyConfigError(f"{where}: target.kind must be calendar or working")
    target_pct = _number(entry.get("target_pct"), where, "target_pct", 0, 100)
    amber_band = _number(entry.get("amber_band", 10), where, "amber_band", 0, 100)
    warning_at = _number(entry.get("warning_at", 0.8), where, "warning_at", 0, 1)
    escalations = entry.get("escalations", [])
    if (
        not isinstance(escalations, list)
        or any(isinstance(e, bool) or not isinstance(e, int) or e < 1 for e in escalations)
        or escalations != sorted(set(escalations))
    ):
        raise PolicyConfigError(
            f"{where}: escalations must be increasing whole numbers of working days, e.g. [1, 3]"
        )
    return Policy(
        id=pid,
        title=title,
        case_types=frozenset(case_types),
        target=Target(days=days, kind=kind),
        target_pct=float(target_pct),
        amber_band=float(amber_band),
        warning_at=float(warning_at),
        escalations=tuple(escalations),
        version=content_hash(dict(entry))[:12],
    )


def _number(value: Any, where: str, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise PolicyConfigError(f"{where}: {name} must be a number from {low} to {high}")
    return float(value)
