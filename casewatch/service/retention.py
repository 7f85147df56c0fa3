"""`casewatch retention`: which cases' personal data the retention policy no longer allows.

Which cases are due is decided by the pure policy (cases/retention.py) on the local
calendar; the erasure itself is the one `casewatch erase` does, audited per case
(`casewatch.app.handlers.data`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from attrs import frozen

from casewatch.cases.clock import local_iso
from casewatch.cases.store import HeldPersonalData
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


def due_erasures(
    holding: Callable[[str, datetime], Iterable[HeldPersonalData]], config: Config, as_of: datetime
) -> list[DueErasure]:
    """Closed cases whose personal data is past its retention period at `as_of`;
    `holding(case_type, closed_by)` reads those still holding some."""
    policy, add_months = config.retention, config.calendar.add_calendar_months
    due: list[DueErasure] = []
    for case_type, months in policy.months.items():
        closed_by = add_months(as_of, -months) + CUTOFF_SLACK
        for held in holding(case_type, closed_by):
            erase_after = policy.erase_after(case_type, held.closed_at, add_months)
            if erase_after <= as_of:
                due.append(
                    DueErasure(held.case_id, case_type, held.closed_at, erase_after, held.records)
                )
    return sorted(due, key=lambda d: (d.erase_after, d.case_id))
