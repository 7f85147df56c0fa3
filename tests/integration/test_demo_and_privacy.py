"""The demo data: reproducible, importable, and its victims never reach logs or outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli import casewatch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo" / "events.jsonl"
sys.path.insert(0, str(ROOT / "scripts"))
import generate_demo  # noqa: E402


def victim_details() -> set[str]:
    details: set[str] = set()
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "victim" in event:
            details.update(event["victim"].values())
    return details


def test_demo_file_is_what_the_generator_makes() -> None:
    """The committed demo data is exactly the generator's output for its default seed."""
    assert DEMO.read_text(encoding="utf-8") == "\n".join(generate_demo.generate(2014, 300)) + "\n"


def test_demo_imports_cleanly(db_url: str) -> None:
    """The demo year imports without a single rejection."""
    result = casewatch("import", str(DEMO), db=db_url)
    assert result.exit_code == 0, result.stdout[:2000]
    summary = result.json()
    assert summary["rejected"] == 0
    assert summary["applied"] == summary["read"] > 1000


@pytest.mark.parametrize(
    "bad_line", ['{"event_id": "x", "type": "case_opened"', '{"victim": {"name": "%s"}}']
)
def test_no_victim_detail_reaches_logs_or_output(
    db_url: str, tmp_path: Path, bad_line: str
) -> None:
    """Importing, rejecting, listing and showing the demo cases never prints a victim's details."""
    details = victim_details()
    assert len(details) > 100
    name = sorted(details)[0]
    outputs = [casewatch("import", str(DEMO), db=db_url)]
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text(
        DEMO.read_text().splitlines()[0].replace("demo-000001", "dup")
        + "\n"
        + (bad_line % name if "%s" in bad_line else bad_line)
        + "\n"
    )
    outputs.append(casewatch("import", str(rejected), db=db_url))
    outputs.append(casewatch("case", "list", db=db_url))
    case_ids = sorted({json.loads(line)["case_id"] for line in DEMO.read_text().splitlines()})
    for case_id in case_ids[:40]:
        outputs.append(casewatch("case", "show", case_id, "--format", "json", db=db_url))
        outputs.append(casewatch("case", "show", case_id, db=db_url))
    text = "\n".join(o.stdout + o.stderr for o in outputs)
    assert '"event": "import_finished"' in text  # the logs were captured
    leaked = sorted(detail for detail in details if detail in text)
    assert leaked == []
