"""The audit trail names whoever `--operator` names, and the deprecated `--by` alias of
erase, retention, export and restore records the same name with one line of warning."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from casewatch.cases.db import create_db_engine
from casewatch.service.tables import AuditRow
from tests.cli import Outcome, casewatch
from tests.web import SEED

CLOSE = {"event_id": "close-01", "case_id": "SEED-01", "type": "case_closed",
         "at": "2015-03-02T09:00:00+00:00"}  # fmt: skip


def _said(outcome: Outcome) -> list[str]:
    """What the command wrote to stderr for a person, the JSON log lines left out."""
    return [line for line in outcome.stderr.splitlines() if not line.startswith("{")]


def _audited(db_url: str) -> list[tuple[str, str | None, str]]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditRow.action, AuditRow.case_id, AuditRow.username).order_by(AuditRow.id)
        ).all()
    engine.dispose()
    return [(row.action, row.case_id, row.username) for row in rows]


def test_operator_and_the_deprecated_by_audit_the_same_name(db_url: str, tmp_path: Path) -> None:
    """Each command audits --operator's name silently and --by's with one warning line."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    closed = casewatch("import", "-", stdin=json.dumps(CLOSE).encode(), db=db_url)
    assert closed.exit_code == 0, closed.stdout

    new = casewatch("erase", "SEED-02", "--reason", "SAR-1", "--operator", "dpo", db=db_url)
    old = casewatch("erase", "SEED-03", "--reason", "SAR-2", "--by", "dpo", db=db_url)
    assert (new.exit_code, old.exit_code) == (0, 0)
    assert new.json() == {"case_id": "SEED-02", "records_erased": 1}
    assert old.json() == {"case_id": "SEED-03", "records_erased": 1}
    assert _said(new) == []
    assert _said(old) == ["casewatch: erase --by is deprecated; use --operator"]

    kept = casewatch("retention", "--as-of", "2030-01-01", "--by", "nightly", db=db_url)
    assert kept.exit_code == 0, kept.stderr
    assert [c["case_id"] for c in kept.json()["cases"]] == ["SEED-01"]
    assert _said(kept) == ["casewatch: retention --by is deprecated; use --operator"]

    exported = casewatch("export", str(tmp_path / "out"), "--by", "backup", db=db_url)
    assert exported.exit_code == 0, exported.stderr
    assert _said(exported) == ["casewatch: export --by is deprecated; use --operator"]
    assert _audited(db_url) == [
        ("case.erase", "SEED-02", "dpo"),
        ("case.erase", "SEED-03", "dpo"),
        ("case.erase", "SEED-01", "nightly"),
        ("database.export", None, "backup"),
    ]

    for spelling, name in (("--operator", "restorer"), ("--by", "old-restorer")):
        target = f"sqlite:///{tmp_path / name}.db"
        restored = casewatch("restore", str(tmp_path / "out"), spelling, name, db=target)
        assert restored.exit_code == 0, restored.stderr
        assert _audited(target)[-1] == ("database.restore", None, name)
        warned = ["casewatch: restore --by is deprecated; use --operator"]
        assert _said(restored) == (warned if spelling == "--by" else [])


def test_without_either_the_defaults_are_unchanged(db_url: str, tmp_path: Path) -> None:
    """No --operator and no --by: erase and export audit "cli", as before the rename."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    erased = casewatch("erase", "SEED-02", "--reason", "SAR-1", db=db_url)
    exported = casewatch("export", str(tmp_path / "out"), db=db_url)
    assert (erased.exit_code, exported.exit_code) == (0, 0)
    assert (_said(erased), _said(exported)) == ([], [])
    assert [row[2] for row in _audited(db_url)] == ["cli", "cli"]
