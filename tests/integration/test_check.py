"""`casewatch check`: stored projections against a fresh replay of the events."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select, update

from casewatch.cases.db import create_db_engine
from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import CaseFlagRow, SlaCycleRow
from tests.cli import casewatch

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "events.jsonl"


def test_a_clean_import_checks_clean_and_tampering_is_found(db_url: str) -> None:
    assert casewatch("import", str(DEMO), db=db_url).exit_code == 0
    clean = casewatch("check", db=db_url)
    assert clean.exit_code == 0, clean.stdout[:2000]
    assert clean.json() == {"cases_checked": 300, "cases_with_differences": 0, "differences": []}

    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        breached = conn.execute(
            select(SlaCycleRow.id, SlaCycleRow.case_id, SlaCycleRow.policy, SlaCycleRow.cycle)
            .where(SlaCycleRow.outcome == "breached")
            .order_by(SlaCycleRow.id)
            .limit(1)
        ).one()
        conn.execute(update(SlaCycleRow).where(SlaCycleRow.id == breached.id).values(outcome="met"))
        flagged = conn.execute(select(CaseFlagRow.case_id, CaseFlagRow.flag).limit(1)).one()
        conn.execute(
            delete(CaseFlagRow).where(
                CaseFlagRow.case_id == flagged.case_id, CaseFlagRow.flag == flagged.flag
            )
        )
        conn.execute(update(CaseRow).where(CaseRow.case_id == "DA-0159").values(event_count=1))
    engine.dispose()

    found = casewatch("check", db=db_url)
    assert found.exit_code == 1
    differences = {
        (d["case_id"], d["what"], d["key"], d["field"]): (d["stored"], d["replayed"])
        for d in found.json()["differences"]
    }
    assert differences[
        (breached.case_id, "cycle", f"{breached.policy} #{breached.cycle}", "outcome")
    ] == ("met", "breached")
    assert differences[(flagged.case_id, "flag", flagged.flag, "presence")] == (False, True)
    assert differences[("DA-0159", "case", "", "event_count")][0] == 1
    assert len(differences) == 3

    only = casewatch("check", "--case", "DA-0159", db=db_url)
    assert only.exit_code == 1
    assert only.json()["cases_checked"] == 1
    assert [d["case_id"] for d in only.json()["differences"]] == ["DA-0159"]


def test_a_case_rows_rag_columns_are_checked_against_its_cycles(db_url: str) -> None:
    """A case row whose soonest running due time disagrees with its cycles is reported."""
    assert casewatch("import", str(DEMO), db=db_url).exit_code == 0
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        case_id, due = conn.execute(
            select(CaseRow.case_id, CaseRow.rag_due_at)
            .where(CaseRow.rag_due_at.is_not(None))
            .order_by(CaseRow.case_id)
            .limit(1)
        ).one()
        conn.execute(update(CaseRow).where(CaseRow.case_id == case_id).values(rag_due_at=None))
    engine.dispose()
    found = casewatch("check", db=db_url)
    assert found.exit_code != 0
    (difference,) = found.json()["differences"]
    assert (difference["case_id"], difference["what"], difference["field"]) == (
        case_id,
        "case",
        "rag_due_at",
    )
    assert (difference["stored"], difference["replayed"]) == (None, due.isoformat())
