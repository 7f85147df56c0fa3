"""Partnership measures: the few non-SLA figures a CSP board reads beside the SLAs
(repeat victims, repeat MARAC referrals, IDVA engagement, caseloads), defined in config
as a numerator and an optional denominator over the counts in `counts.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
from sqlalchemy import Connection

from casewatch.engine.policies import yaml_list_with_lines
from casewatch.reports.arithmetic import DIRECTIONS, Direction, rate, ratio, share
from casewatch.reports.counts import COUNTS, CountSpec, Window, run_count

UNITS: Final = ("percent", "ratio", "count")


class MeasureConfigError(ValueError):
    """A measure file that cannot be used; names the file, line and entry at fault."""


@attrs.frozen
class Measure:
    id: str
    title: str
    numerator: CountSpec
    denominator: CountSpec | None
    unit: str
    target: float | None
    amber_band: float
    direction: Direction

    def value(self, numerator: int, denominator: int | None) -> float | None:
        if self.unit == "count":
            return numerator
        assert denominator is not None  # a percent or ratio always has one (checked on load)
        return (share if self.unit == "percent" else ratio)(numerator, denominator)


def measures_from_text(text: str, source: str) -> tuple[Measure, ...]:
    data, lines = yaml_list_with_lines(text, source, "measures", MeasureConfigError)
    if not isinstance(data, Mapping) or not isinstance(data.get("measures"), list):
        raise MeasureConfigError(f"{source}: expected a top-level 'measures' list")
    measures: list[Measure] = []
    for index, entry in enumerate(data["measures"], start=1):
        where = f"{source}:{lines[index - 1]}" if len(lines) >= index else f"{source}: #{index}"
        measure = _measure(entry, where)
        if any(m.id == measure.id for m in measures):
            raise MeasureConfigError(f"{where}: measure id '{measure.id}' appears twice")
        measures.append(measure)
    return tuple(measures)


def _measure(entry: Any, where: str) -> Measure:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
        raise MeasureConfigError(f"{where}: each measure needs an 'id'")
    where = f"{where} ('{entry['id']}')"
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise MeasureConfigError(f"{where} needs a 'title'")
    unit = entry.get("unit", "percent")
    if unit not in UNITS:
        raise MeasureConfigError(f"{where}: unit must be one of {', '.join(UNITS)}")
    direction = entry.get("direction", "higher")
    if direction not in DIRECTIONS:
        raise MeasureConfigError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    numerator = _count_spec(entry.get("numerator"), where, "numerator")
    denominator = None
    if unit == "count":
        if "denominator" in entry:
            raise MeasureConfigError(f"{where}: a count has no denominator")
    else:
        denominator = _count_spec(entry.get("denominator"), where, "denominator")
    target = entry.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise MeasureConfigError(f"{where}: target must be a number")
    band = entry.get("amber_band", 10)
    if isinstance(band, bool) or not isinstance(band, int | float) or band < 0:
        raise MeasureConfigError(f"{where}: amber_band must be a number, 0 or more")
    return Measure(
        id=entry["id"],
        title=title,
        numerator=numerator,
        denominator=denominator,
        unit=unit,
        target=None if target is None else float(target),
        amber_band=float(band),
        direction=direction,
    )


def _count_spec(value: Any, where: str, side: str) -> CountSpec:
    if not isinstance(value, Mapping) or value.get("count") not in COUNTS:
        raise MeasureConfigError(
            f"{where}: {side} must be {{count: NAME, ...}} with NAME one of {', '.join(COUNTS)}"
        )
    kind = COUNTS[value["count"]]
    params = {k: v for k, v in value.items() if k != "count"}
    missing = kind.required - params.keys()
    unknown = params.keys() - kind.required - kind.optional
    if missing or unknown:
        problem = (
            f"needs {', '.join(sorted(missing))}"
            if missing
            else f"does not take {', '.join(sorted(unknown))}"
        )
        raise MeasureConfigError(f"{where}: {side} count '{value['count']}' {problem}")
    return CountSpec(value["count"], params)


def measure_values(
    conn: Connection, measures: Sequence[Measure], window: Window
) -> list[dict[str, Any]]:
    """Each measure's numerator, denominator, value and RAG for one period."""
    results = []
    for measure in measures:
        numerator = run_count(conn, window, measure.numerator)
        denominator = run_count(conn, window, measure.denominator) if measure.denominator else None
        value = measure.value(numerator, denominator)
        results.append(
            {
                "measure": measure.id,
                "title": measure.title,
                "unit": measure.unit,
                "numerator": numerator,
                "denominator": denominator,
                "value": value,
                "target": measure.target,
                "better_when": None if measure.direction == "neutral" else measure.direction,
                "rag": rate(value, measure.target, measure.amber_band, measure.direction),
            }
        )
    return results
