"""Rule files: the shipped ones are valid; broken ones are explained with file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from casewatch.engine.policies import PolicyConfigError, policies_from_text
from casewatch.engine.rules import RuleFileError, load_rule_files
from casewatch.service.config import Config, check_rules
from tests.cli import casewatch

GOOD_RULE = """\
family: mine
rules:
  - id: start-it
    description: starts
    case_types: [asb]
    when: {event: risk_assessed, conditions: [{fact: risk_after, is: high}]}
    then: [{start_cycle: asb-high-risk-conference}]
"""


def problems(config: Config, text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([("mine.yaml", textwrap.dedent(text))], config.policies)
    return caught.value.problems


def test_shipped_rules_and_policies_are_valid() -> None:
    """`casewatch rules check` passes on the shipped files."""
    result = casewatch("rules", "check", "--format", "json")
    assert result.exit_code == 0, result.stdout
    report = result.json()
    assert report["problems"] == []
    assert report["rules"] == 22  # 15, 1 for DASH potential escalation, 6 for the case review
    assert report["policies"] == 8  # the contract's 4 and the case review's 4


def test_every_default_policy_and_flag_is_declared(config: Config) -> None:
    """The eight policies of the contract are started by rules; the four flags are raised."""
    started = {e.target for r in config.rules.rules for e in r.effects if e.kind == "start_cycle"}
    raised = {e.target for r in config.rules.rules for e in r.effects if e.kind == "raise_flag"}
    assert started == {
        "asb-high-risk-conference",
        "asb-high-risk-reduction",
        "da-high-risk-idva-contact",
        "da-high-risk-marac-referral",
        "asb-review-acknowledgement",
        "asb-review-decision",
        "asb-review-meeting",
        "asb-review-outcome",
    }
    assert raised == {"repeat-victim", "community-trigger", "potential-escalation", "repeat-marac"}


def test_problems_name_file_and_line(config: Config) -> None:
    """Unknown case types, events, facts, values and policies are reported at their line."""
    found = problems(
        config,
        """\
        family: mine
        rules:
          - id: r1
            description: d
            case_types: [asb, burglary]
            when:
              event: risk_assesed
              conditions:
                - {fact: risk_after, is: severe}
                - {fact: moon_phase, is: full}
            then:
              - start_cycle: nope
              - launch_rocket: now
        """,
    )
    assert "mine.yaml:5: 'burglary' is not a known case_types (asb, domestic_abuse)" in found
    assert any(p.startswith("mine.yaml:7: 'risk_assesed' is not a known event") for p in found)
    assert "mine.yaml:9: 'severe' does not fit fact 'risk_after' with 'is'" in found
    assert any(p.startswith("mine.yaml:10: unknown fact 'moon_phase'") for p in found)
    assert "mine.yaml:12: 'nope' is not a policy in the policy file" in found
    assert any(p.startswith("mine.yaml:13: unknown effect 'launch_rocket'") for p in found)


def test_policy_of_another_case_type_is_refused(config: Config) -> None:
    """A rule for ASB cases cannot start a domestic abuse policy."""
    found = problems(
        config, GOOD_RULE.replace("asb-high-risk-conference", "da-high-risk-idva-contact")
    )
    assert any("does not apply to asb cases" in p for p in found)


def test_undefined_threshold_and_duplicate_ids(config: Config) -> None:
    """$names must be defined under thresholds; rule ids are unique across files."""
    found = problems(
        config,
        GOOD_RULE.replace(
            "{fact: risk_after, is: high}", "{fact: incidents_within, days: $window, at_least: 3}"
        ),
    )
    assert any("threshold '$window' is not defined" in p for p in found)
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([("a.yaml", GOOD_RULE), ("b.yaml", GOOD_RULE)], config.policies)
    assert any(
        "b.yaml:3: rule id 'start-it' is already used at a.yaml:3" in p
        for p in caught.value.problems
    )


def test_a_policy_nobody_starts_is_a_problem(config: Config) -> None:
    """Every policy must be started by some rule, or its targets could never be measured."""
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([("mine.yaml", GOOD_RULE)], config.policies, "policies.yaml")
    assert (
        "policies.yaml: policy 'da-high-risk-idva-contact' is never started by any rule"
        in caught.value.problems
    )


def test_invalid_yaml_names_the_line(config: Config) -> None:
    """A YAML syntax error is reported at its line."""
    found = problems(config, "family: x\nrules:\n  - id: [unclosed\n")
    assert found[0].startswith("mine.yaml:")
    assert "not valid YAML" in found[0]


def test_policy_problems_name_the_line() -> None:
    """A broken policy entry is reported at the line it starts on."""
    text = "policies:\n  - id: ok\n    title: t\n    case_types: [asb]\n    target: {days: 5, kind: calendar}\n    target_pct: 85\n  - id: bad\n    title: t\n    case_types: [asb]\n    target: {days: 0, kind: lunar}\n    target_pct: 85\n"
    with pytest.raises(PolicyConfigError, match=r"^policies\.yaml:7 \('bad'\): target\.days"):
        policies_from_text(text, "policies.yaml")


def test_rules_check_command_on_a_broken_file(tmp_path: Path) -> None:
    """`rules check FILE` checks that file in place of its namesake and exits 1 on problems."""
    broken = tmp_path / "asb.yaml"
    broken.write_text(GOOD_RULE.replace("risk_assessed", "risk_assesed"))
    result = casewatch("rules", "check", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:6:" in result.stdout
    assert "problem(s)" in result.stdout


def test_rules_check_a_folder(tmp_path: Path) -> None:
    """A folder's rule files replace the shipped set; its policies.yaml replaces the policies."""
    (tmp_path / "policies.yaml").write_text(
        "policies:\n  - id: only\n    title: Only one\n    case_types: [asb]\n"
        "    target: {days: 3, kind: calendar}\n    target_pct: 90\n"
    )
    (tmp_path / "mine.yaml").write_text(GOOD_RULE.replace("asb-high-risk-conference", "only"))
    result = check_rules(str(tmp_path))
    assert result.problems == []
    assert (result.rules, result.policies) == (1, 1)


def test_rules_check_accepts_db_like_every_command(tmp_path: Path) -> None:
    """--db is accepted (and not needed) so scripts can pass it to every command."""
    assert casewatch("rules", "check", db=f"sqlite:///{tmp_path / 'x.db'}").exit_code == 0


def test_rules_check_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    """A path that does not exist exits 2."""
    assert casewatch("rules", "check", str(tmp_path / "nope.yaml")).exit_code == 2
