"""How long a victim's personal data is kept once their case has closed.

A partnership sets a period per case type from its retention schedule; after it, the
personal data is erased and the anonymised events stay, so the statistics do not change.
Every case type must have a period: nothing is kept for ever by omission.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from attrs import frozen

from casewatch.cases.events import CASE_TYPES

UNITS: Final = {"years": 12, "months": 1}

AddMonths = Callable[[datetime, int], datetime]  # local calendar months (DST-safe)


class RetentionConfigError(ValueError):
    """A retention file that cannot be used; names the file and the entry."""


@frozen
class RetentionPolicy:
    months: Mapping[str, int]  # case type -> months personal data is kept after closure

    def erase_after(self, case_type: str, closed_at: datetime, add_months: AddMonths) -> datetime:
        return add_months(closed_at, self.months[case_type])

    def describe(self, case_type: str) -> str:
        months = self.months[case_type]
        span = f"{months // 12} years" if months % 12 == 0 else f"{months} months"
        return f"retention policy: personal data kept {span} after closure"


def retention_from_mapping(data: Any, source: str) -> RetentionPolicy:
    if not isinstance(data, Mapping) or not isinstance(
        data.get("personal_data_after_closure"), Mapping
    ):
        raise RetentionConfigError(f"{source}: expected a 'personal_data_after_closure' mapping")
    periods = data["personal_data_after_closure"]
    unknown = sorted(set(periods) - set(CASE_TYPES))
    if unknown:
        raise RetentionConfigError(
            f"{source}: unknown case type(s) {', '.join(map(str, unknown))}; "
            f"expected {', '.join(CASE_TYPES)}"
        )
    missing = [t for t in CASE_TYPES if t not in periods]
    if missing:
        raise RetentionConfigError(
            f"{source}: no retention period for {', '.join(missing)}: every case type needs one"
        )
    return RetentionPolicy({t: _months(periods[t], f"{source}: {t}") for t in CASE_TYPES})


def _months(value: Any, where: str) -> int:
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in UNITS:
        raise RetentionConfigError(f"{where}: give one of {{years: N}} or {{months: N}}")
    unit, count = next(iter(value.items()))
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise RetentionConfigError(f"{where}: {unit} must be a whole number of at least 1")
    return int(count) * UNITS[unit]
