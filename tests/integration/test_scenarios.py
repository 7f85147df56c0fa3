"""JSONL scenario fixtures with their expected outputs, run through the real CLI.

Each `tests/scenarios/NAME.jsonl` is imported (then `NAME.late.jsonl`, if present, as a
second, later import); `NAME.expect.json` lists commands and the JSON they must print:
`before_late` ones between the two imports, `checks` after both.
An expected object matches when each of its keys matches; an expected list matches
element by element and must have the same length.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import casewatch

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NAMES = sorted(p.name.removesuffix(".expect.json") for p in SCENARIOS.glob("*.expect.json"))


def matches(actual: Any, expected: Any, path: str = "$") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += matches(actual[key], value, f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [
            p
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for p in matches(a, e, f"{path}[{i}]")
        ]
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("name", NAMES)
def test_scenario(name: str, db_url: str) -> None:
    """The scenario's imports succeed and every check prints what it expects."""
    spec = json.loads((SCENARIOS / f"{name}.expect.json").read_text())
    late = SCENARIOS / f"{name}.late.jsonl"
    assert late.exists() or "before_late" not in spec, "before_late checks need a late file"
    imported = casewatch("import", str(SCENARIOS / f"{name}.jsonl"), db=db_url)
    assert imported.exit_code == 0, imported.stdout[:3000]
    run_checks(spec.get("before_late", []), db_url, "before the late import")
    if late.exists():
        imported = casewatch("import", str(late), db=db_url)
        assert imported.exit_code == 0, imported.stdout[:3000]
    run_checks(spec["checks"], db_url, "")


def run_checks(checks: list[dict[str, Any]], db_url: str, when: str) -> None:
    for check in checks:
        result = casewatch(*check["run"], db=db_url)
        assert result.exit_code == check.get("exit", 0), result.stderr
        problems = matches(result.json(), check["expect"])
        assert problems == [], f"{' '.join(check['run'])} {when}:\n" + "\n".join(problems)
