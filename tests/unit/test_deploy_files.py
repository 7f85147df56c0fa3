"""The systemd units in deploy/ run casewatch commands that exist, with options it takes."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from casewatch.service.cli import app

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def casewatch_arguments(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(unit)
    command = shlex.split(parser["Service"]["ExecStart"].replace("%%", "%"))
    if command[0] == "/bin/sh":  # sh -c 'exec casewatch …'
        command = shlex.split(command[2])[1:]
    assert command[0] == "/opt/casewatch/.venv/bin/casewatch", command
    return command[1:]


@pytest.mark.parametrize("unit", sorted(UNITS.glob("*.service")), ids=lambda p: p.name)
def test_each_unit_runs_a_real_command_with_real_options(unit: Path) -> None:
    """Click parses the unit's arguments against casewatch's own commands, as at run time."""
    arguments = casewatch_arguments(unit)
    group: Any = typer.main.get_command(app)
    context = group.make_context("casewatch", [arguments[0]])
    command = group.get_command(context, arguments[0])
    assert command is not None, f"{unit.name}: no command {arguments[0]}"
    command.make_context(arguments[0], arguments[1:], parent=context)  # unknown option: error


def test_every_service_but_the_jobs_has_a_timer_or_an_install_section() -> None:
    """serve and worker start at boot; retention and export run from their timers."""
    names = {p.name for p in UNITS.iterdir()}
    assert {"casewatch-retention.timer", "casewatch-export.timer"} <= names
    for name in ("casewatch-serve.service", "casewatch-worker.service"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(UNITS / name)
        assert parser["Install"]["WantedBy"] == "multi-user.target"
