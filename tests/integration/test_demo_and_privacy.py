"""The demo data: reproducible, importable, and its victims never reach logs or outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from casewatch.cases.db import create_db_engine
from casewatch.notifications.tables import OutboxRow
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


def test_alerts_and_operator_commands_never_carry_a_victim_detail(
    db_url: str, tmp_path: Path
) -> None:
    """Every alert of the demo year (inbox and the queued e-mail and webhook messages,
    subjects and bodies), the reports' miss lists, and what check, export, restore,
    retention and erase print and log hold case references only."""
    details = victim_details()
    outputs = [casewatch("import", str(DEMO), db=db_url)]
    outputs += [
        casewatch("tick", "--now", month, db=db_url)
        for month in ("2014-07-01", "2014-10-01", "2015-01-01", "2015-04-01")
    ]
    listed = casewatch("alerts", "list", "--format", "json", db=db_url)
    assert len(listed.json()) > 50, "the demo year should raise many alerts"
    outputs += [listed, casewatch("alerts", "list", db=db_url)]
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        messages = conn.execute(select(OutboxRow.subject, OutboxRow.body)).all()
    engine.dispose()
    assert {m.subject for m in messages}, "the tick should queue notifications"
    outputs += [
        casewatch("report", "sla", "--period", "FY2014", "--details", "--format", "json",
                  db=db_url),
        casewatch("report", "sla", "--period", "FY2014", "--format", "html", db=db_url),
        casewatch("check", db=db_url),
        casewatch("retention", "--dry-run", db=db_url),
        casewatch("export", str(tmp_path / "export"), db=db_url),
        casewatch("erase", "DA-0159", "--reason", "SAR-1", db=db_url),
        casewatch("retention", db=db_url),
    ]  # fmt: skip
    text = "\n".join(
        [o.stdout + o.stderr for o in outputs] + [m.subject + "\n" + m.body for m in messages]
    )
    assert '"event": "retention_applied"' in text  # the logs were captured
    leaked = sorted(detail for detail in details if detail in text)
    assert leaked == []
