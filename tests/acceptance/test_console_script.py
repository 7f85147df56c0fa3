"""The installed `casewatch` console script, run as a real process, as the README does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo" / "events.jsonl"


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "casewatch", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_readme_flow_on_the_embedded_default(tmp_path: Path) -> None:
    """init, import the demo and list cases on ./casewatch.db with no options at all."""
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "casewatch.db").exists()
    imported = run("import", str(DEMO), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr.decode()
    assert json.loads(imported.stdout)["rejected"] == 0
    listed = run("case", "list", "--format", "json", cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 300
    for line in imported.stderr.decode().splitlines():
        json.loads(line)  # logs are JSON lines on stderr when not a terminal


def test_rejected_import_exits_1_with_json(tmp_path: Path) -> None:
    """A rejected file exits 1 and still prints its summary JSON on stdout."""
    result = run("import", "-", cwd=tmp_path, stdin=b'{"event_id": "a"}\n')
    assert result.returncode == 1
    assert json.loads(result.stdout)["rejected"] == 1
    assert b"Traceback" not in result.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    """Usage errors exit 2 without a traceback."""
    result = run("import", cwd=tmp_path)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
