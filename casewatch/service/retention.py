"""`casewatch retention`: erase the personal data the retention policy no longer allows.

Which cases are due is decided by the pure policy (cases/retention.py) on the local
calendar; the erasure itself is the same one `casewatch erase` does, audited per case.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection

from casewatch.cases.clock import local_iso
from casewatch.cases.store import closed_cases_holding_personal_data, erase_personal_data
from casewatch.service import audit
from casewatch.service.config import Config

# The database pre-selects by a cut-off computed backwards from `as_of`; month-end
# clamping (31 Aug + 6 months = 28 Feb) can put a due case a few days past it.
CUTOFF_SLACK: Final = timedelta(days=4)


@frozen
class DueErasure:
    case_id: str
    case_type: str
    closed_at: datetime
    erase_after: datetime
    records: int

    def as_json(self, config: Config) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "case_type": self.case_type,
            "closed_at": local_iso(self.closed_at, config.timezone),
            "erase_after": local_iso(self.erase_after, config.timezone),
            "records": self.records,
        }


def due_erasures(conn: Connection, config: Config, as_of: datetime) -> list[DueErasure]:
    """Closed cases whose personal data is past its retention period at `as_of`."""
    policy, add_months = config.retention, config.calendar.add_calendar_months
    due: list[DueErasure] = []
    for case_type, months in policy.months.items():
        closed_by = add_months(as_of, -months) + CUTOFF_SLACK
        for held in closed_cases_holding_personal_data(conn, case_type, closed_by):
            erase_after = policy.erase_after(case_type, held.closed_at, add_months)
            if erase_after <= as_of:
                due.append(
                    DueErasure(held.case_id, case_type, held.closed_at, erase_after, held.records)
                )
    return sorted(due, key=lambda d: (d.erase_after, d.case_id))


def erase_due(
    conn: Connection, config: Config, due: list[DueErasure], *, now: datetime, by: str
) -> int:
    """Erase each due case's personal data with an audit row naming the policy."""
    erased = 0
    for item in due:
        reason = config.retention.describe(item.case_type)
        erased += erase_case(conn, item.case_id, reason=reason, now=now, by=by)
    return erased


def erase_case(conn: Connection, case_id: str, *, reason: str, now: datetime, by: str) -> int:
    """Erase one case's victim personal data and write its `case.erase` audit row in the
    same transaction: `casewatch erase` and the retention policy both erase this way.
    Returns the records erased (0 when already erased)."""
    records = erase_personal_data(conn, case_id, now)
    audit.record_operator(conn, "case.erase", now=now, by=by, case_id=case_id,
                          detail={"reason": reason, "records_erased": records})  # fmt: skip
    return records
