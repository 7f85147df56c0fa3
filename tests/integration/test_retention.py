"""`casewatch retention`: personal data past its period goes, audited; figures stay."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from casewatch.app.case_view import victim_data
from casewatch.cases.db import create_db_engine
from casewatch.service.tables import AuditRow
from tests.cli import casewatch
from tests.web import DEMO

REPORT = ("report", "sla", "--period", "FY2014", "--as-of", "2015-06-30", "--format", "json")


def test_a_dry_run_lists_and_a_run_erases_only_what_is_due(db_url: str) -> None:
    """Due means closed and six years past closure at --as-of; reopened or open cases and
    recent closures keep their data. A second run finds nothing; reports are unchanged."""
    assert casewatch("import", str(DEMO), db=db_url).exit_code == 0
    report = casewatch(*REPORT, db=db_url).json()
    everything = casewatch("retention", "--dry-run", "--as-of", "2030-01-01", db=db_url).json()
    closed = [c["case_id"] for c in casewatch("case", "list", "--status", "closed", "--format",
                                              "json", db=db_url).json()]  # fmt: skip
    assert sorted(c["case_id"] for c in everything["cases"]) == sorted(closed)
    assert closed, "the demo year closes cases"

    earliest = min(everything["cases"], key=lambda c: c["erase_after"])
    as_of = earliest["erase_after"]
    dry = casewatch("retention", "--dry-run", "--as-of", as_of, db=db_url).json()
    assert dry["dry_run"] is True
    assert dry["records_erased"] == 0
    assert [c["case_id"] for c in dry["cases"]] == [
        c["case_id"] for c in everything["cases"] if c["erase_after"] <= as_of
    ]
    assert (
        earliest["erase_after"][:10]
        == f"{int(earliest['closed_at'][:4]) + 6}" + (earliest["closed_at"][4:10])
    )
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        assert victim_data(conn, earliest["case_id"]) is not None  # the dry run erased nothing

    ran = casewatch("retention", "--as-of", as_of, "--by", "dpo", db=db_url)
    assert ran.exit_code == 0, ran.stderr
    assert ran.json()["cases"] == dry["cases"]
    assert ran.json()["records_erased"] == sum(c["records"] for c in dry["cases"])
    with engine.connect() as conn:
        assert victim_data(conn, earliest["case_id"]) is None
        kept = [c for c in everything["cases"] if c not in dry["cases"]]
        assert all(victim_data(conn, c["case_id"]) is not None for c in kept)
        audited = conn.execute(
            select(AuditRow.case_id, AuditRow.username, AuditRow.detail).where(
                AuditRow.action == "case.erase"
            )
        ).all()
    engine.dispose()
    assert sorted(a.case_id for a in audited) == sorted(c["case_id"] for c in dry["cases"])
    assert {a.username for a in audited} == {"dpo"}
    assert json.loads(audited[0].detail)["reason"] == (
        "retention policy: personal data kept 6 years after closure"
    )
    again = casewatch("retention", "--as-of", as_of, db=db_url).json()
    assert again["cases_due"] == 0

    reopened = kept[0]["case_id"]
    event = {"event_id": "reopen-1", "case_id": reopened, "type": "case_reopened",
             "at": "2015-06-01T09:00:00+01:00"}  # fmt: skip
    assert casewatch("import", "-", stdin=json.dumps(event).encode(), db=db_url).exit_code == 0
    later = casewatch("retention", "--dry-run", "--as-of", "2030-01-01", db=db_url).json()
    assert reopened not in [c["case_id"] for c in later["cases"]]
    assert casewatch(*REPORT, db=db_url).json() == report
    assert casewatch("check", db=db_url).exit_code == 0


def test_a_policy_missing_a_case_type_stops_every_command(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "retention.yaml").write_text(
        "personal_data_after_closure:\n  asb: {years: 6}\n", encoding="utf-8"
    )
    outcome = casewatch("--config", str(tmp_path), "retention", "--dry-run", db=db_url)
    assert outcome.exit_code == 3
    assert "no retention period for domestic_abuse" in outcome.stderr
