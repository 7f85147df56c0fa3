"""The what-if's pure parts: the change words and the side-by-side comparison."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
import yaml

from casewatch.engine.changes import Setup, describe_changes, target_words
from casewatch.engine.policies import (
    PolicyConfigError,
    Target,
    policies_from_mapping,
    policies_from_text,
)
from casewatch.engine.rules import load_rule_files
from casewatch.reports.sla import CohortCycle
from casewatch.reports.whatif import Comparison, compare
from casewatch.service.config import Config

LONDON = ZoneInfo("Europe/London")


def _setup(config: Config, **changes: Any) -> Setup:
    data = yaml.safe_load(yaml.safe_dump(config.policies_data))
    for entry in data["policies"]:
        entry.update(changes.get(entry["id"], {}))
    policies = policies_from_mapping(data, "policies.yaml")
    rules = load_rule_files(config.rule_texts.items(), policies)
    return Setup(policies, rules, "Europe/London", "england_wales", {"dash": "d", "asb": "a"})


def test_no_difference_says_no_change(config: Config) -> None:
    """The configuration compared with itself reads ["no change"]."""
    assert describe_changes(_setup(config), _setup(config)) == ["no change"]


def test_each_policy_field_is_its_own_line(config: Config) -> None:
    """Target, target %, amber band, warning point and escalations each get one line."""
    after = _setup(
        config,
        **{
            "da-high-risk-marac-referral": {
                "target": {"days": 2, "kind": "working"},
                "target_pct": 90,
                "amber_band": 5,
                "warning_at": 0.5,
                "escalations": [2],
            }
        },
    )
    assert describe_changes(_setup(config), after) == [
        "da-high-risk-marac-referral: target 1 working day -> 2 working days",
        "da-high-risk-marac-referral: target % 85 -> 90",
        "da-high-risk-marac-referral: amber band 10 -> 5",
        "da-high-risk-marac-referral: warning at 0.8 -> 0.5 of the target",
        "da-high-risk-marac-referral: escalations after 1, 3 -> 2 working days",
    ]


def test_calendar_time_and_matrices_are_named(config: Config) -> None:
    """A new nation, time zone or matrix is a difference too."""
    before = _setup(config)
    after = attrs.evolve(
        before, timezone="Europe/Dublin", nation="scotland", matrices={"dash": "x", "asb": "a"}
    )
    assert describe_changes(before, after) == [
        "time zone Europe/London -> Europe/Dublin",
        "bank holidays of england_wales -> scotland",
        "DASH checklist (dash.yaml) changed: risk assessments re-scored",
    ]


def test_target_words_are_singular_for_one_day() -> None:
    """`1 working day`, `5 calendar days`."""
    assert target_words(Target(1, "working")) == "1 working day"
    assert target_words(Target(5, "calendar")) == "5 calendar days"


def _cycle(case_id: str, outcome: str, group: str | None = None, policy: str = "p1") -> CohortCycle:
    started = datetime(2014, 6, 2, 10, tzinfo=LONDON)
    return CohortCycle(case_id, policy, 1, started, outcome, None, group)


def test_compare_counts_both_sides_and_lists_the_flips(config: Config) -> None:
    """Two met and one breached against three met: 66.7 -> 100.0, change 33.3, one flip;
    a policy with no cycles still has its entry on both sides without --by."""
    policies = config.policies
    pid = policies.ids[0]
    current = [_cycle("A", "met", policy=pid), _cycle("B", "met", policy=pid),
               _cycle("C", "breached", policy=pid)]  # fmt: skip
    proposed = [attrs.evolve(c, outcome="met") for c in current]
    [first, *others] = compare(current, proposed, policies, policies, None)
    assert first["current"]["pct"] == 66.7
    assert first["proposed"]["pct"] == 100.0
    assert first["change"] == 33.3
    assert first["flipped"] == [{"case_id": "C", "cycle": 1, "from": "breached", "to": "met"}]
    assert all(e["current"]["cohort"] == 0 and e["change"] is None for e in others)


def test_by_group_lists_only_non_empty_cohorts_and_one_sided_cycles(config: Config) -> None:
    """With --by, a group with a cohort on one side only has null on the other, and a
    cycle that exists on one side only flips from or to null."""
    pid = config.policies.ids[0]
    current = [_cycle("A", "met", "north", pid)]
    proposed = [_cycle("B", "open", "south", pid)]
    entries = compare(current, proposed, config.policies, config.policies, "team")
    assert [(e["team"], e["current"] is None, e["proposed"] is None) for e in entries] == [
        ("north", False, True),
        ("south", True, False),
    ]
    assert entries[0]["flipped"] == [{"case_id": "A", "cycle": 1, "from": "met", "to": None}]
    assert entries[1]["flipped"] == [{"case_id": "B", "cycle": 1, "from": None, "to": "open"}]
    assert entries[0]["change"] is None


def test_an_unknown_policy_field_is_refused_with_its_line() -> None:
    """A misspelt field (here in the second entry, which starts on line 7) is named, never ignored."""
    entry = "  - id: {}\n    title: t\n    case_types: [asb]\n    target: {{days: 5, kind: calendar}}\n    target_pct: 85\n"
    text = "policies:\n" + entry.format("a") + entry.format("b") + "    targte_pct: 90\n"
    with pytest.raises(PolicyConfigError) as refused:
        policies_from_text(text, "p.yaml")
    assert str(refused.value).startswith("p.yaml:7 ('b'): unknown field 'targte_pct'")
    typo = text.replace("    targte_pct: 90\n", "").replace(
        "kind: calendar}", "kind: calendar, day: 1}"
    )
    with pytest.raises(PolicyConfigError, match=r"p.yaml:2 \('a'\): unknown target field 'day'"):
        policies_from_text(typo, "p.yaml")


def test_comparing_case_by_case_gives_what_comparing_the_whole_cohort_gives(
    config: Config,
) -> None:
    """The what-if compares a batch of cases at a time: the counts and flips added up over
    the batches are the whole cohort's, whatever order the batches come in."""
    policies = config.policies
    pid = policies.ids[0]
    outcomes = ["met", "breached", "open", "excluded"]
    for by in (None, "team"):
        groups = [None] if by is None else ["north", "south", "east"]
        current = [
            _cycle(f"C{n}", outcomes[n % 4], groups[n % len(groups)], pid) for n in range(40)
        ]
        proposed = [
            attrs.evolve(c, outcome=outcomes[(n // 3) % 4]) for n, c in enumerate(current) if n % 7
        ] + [_cycle("C99", "met", groups[-1], pid)]
        comparison = Comparison()
        for batch in (["C99", *(f"C{n}" for n in range(20, 40))], [f"C{n}" for n in range(20)]):
            comparison.add(
                [c for c in current if c.case_id in batch],
                [c for c in proposed if c.case_id in batch],
            )
        assert comparison.current == len(current)
        whole = compare(current, proposed, policies, policies, by)
        assert comparison.entries(policies, policies, by) == whole
        assert any(entry["flipped"] for entry in whole)
