"""Run the real `casewatch` command line in-process and read its JSON."""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen
from typer.testing import CliRunner

from casewatch.service.cli import app


@frozen
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def casewatch(
    *args: str,
    db: str | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> Outcome:
    argv = [*args, "--db", db] if db else list(args)
    result = CliRunner().invoke(app, argv, input=stdin, catch_exceptions=False, env=env)
    return Outcome(result.exit_code, result.stdout, result.stderr)
