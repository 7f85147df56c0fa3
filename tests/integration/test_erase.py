"""`casewatch erase`: a victim's personal data goes, the facts and the statistics stay."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from casewatch.app.case_view import victim_data
from casewatch.cases.db import create_db_engine
from casewatch.cases.tables import EventRow, PersonalDataRow
from casewatch.service.tables import AuditRow
from tests.cli import casewatch
from tests.web import SEED

REPORT = ("report", "sla", "--period", "FY2014", "--as-of", "2015-06-30", "--format", "json")


def test_erasure_keeps_cases_cycles_and_reports_and_is_audited(db_url: str) -> None:
    """Erase twice: data gone once, events, case view, report and check all unchanged."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    before_case = casewatch("case", "show", "SEED-02", "--as-of", "2015-06-30", "--format",
                            "json", db=db_url).json()  # fmt: skip
    before_report = casewatch(*REPORT, db=db_url).json()
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        assert victim_data(conn, "SEED-02")
    first = casewatch("erase", "SEED-02", "--reason", "SAR-2015-017", "--by", "dpo", db=db_url)
    assert first.exit_code == 0, first.stderr
    assert first.json() == {"case_id": "SEED-02", "records_erased": 1}
    again = casewatch("erase", "SEED-02", "--reason", "SAR-2015-017", db=db_url)
    assert again.json() == {"case_id": "SEED-02", "records_erased": 0}
    with engine.connect() as conn:
        assert victim_data(conn, "SEED-02") is None
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == events
        stored = conn.execute(
            select(PersonalDataRow.data, PersonalDataRow.erased_at).where(
                PersonalDataRow.case_id == "SEED-02"
            )
        ).one()
        assert stored.data is None
        assert stored.erased_at is not None
        audited = conn.execute(
            select(AuditRow.username, AuditRow.detail).where(AuditRow.action == "case.erase")
        ).all()
    engine.dispose()
    assert audited[0].username == "dpo"
    assert json.loads(audited[0].detail) == {"reason": "SAR-2015-017", "records_erased": 1}
    after_case = casewatch("case", "show", "SEED-02", "--as-of", "2015-06-30", "--format",
                           "json", db=db_url).json()  # fmt: skip
    assert after_case == before_case
    assert casewatch(*REPORT, db=db_url).json() == before_report
    assert casewatch("check", db=db_url).exit_code == 0


def test_erasing_needs_a_known_case_and_a_reason(db_url: str) -> None:
    """An unknown case exits 1; an empty reason is a usage error."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    unknown = casewatch("erase", "NOPE", "--reason", "x", db=db_url)
    assert unknown.exit_code == 1
    assert "not found" in unknown.stderr
    assert casewatch("erase", "SEED-02", "--reason", "  ", db=db_url).exit_code == 2
