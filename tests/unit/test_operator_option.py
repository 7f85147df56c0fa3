"""`--operator` names who ran erase, retention, export and restore; `--by` there is its
deprecated alias, and elsewhere still means "break down by"."""

from __future__ import annotations

import pytest

from tests.cli import casewatch

AUDITED = ["erase", "retention", "export", "restore"]


@pytest.mark.parametrize("command", AUDITED)
def test_help_offers_operator_and_not_the_deprecated_alias(command: str) -> None:
    """The help lists --operator with its default and hides --by."""
    shown = casewatch(command, "--help", env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    default = "retention" if command == "retention" else "cli"
    assert "--operator" in shown.stdout
    assert f"recorded in the audit log (default: {default})" in shown.stdout
    assert "--by" not in shown.stdout


@pytest.mark.parametrize("command", ["report sla", "report pack", "whatif"])
def test_by_still_groups_where_it_always_did(command: str) -> None:
    """Reports and what-if keep --by as "break down by"."""
    shown = casewatch(*command.split(), "--help", env={"COLUMNS": "200"})
    assert "--by" in shown.stdout
    assert "Break down by" in shown.stdout
    assert "--operator" not in shown.stdout


@pytest.mark.parametrize("command", AUDITED)
def test_operator_and_its_alias_together_are_a_usage_error(command: str) -> None:
    """Both spellings at once exit 2 naming --by, before any database is opened."""
    arguments = {"erase": ["X", "--reason", "r"], "export": ["x"], "restore": ["x"]}
    given = casewatch(command, *arguments.get(command, []), "--operator", "a", "--by", "b",
                      "--db", "nonsense://x")  # fmt: skip
    assert given.exit_code == 2
    assert "--by" in given.stderr
    assert "give --operator only" in given.stderr
