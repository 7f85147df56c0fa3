"""The measure file: what a partnership may write, and errors that point at the line."""

from __future__ import annotations

from importlib import resources

import pytest

from casewatch.reports.measures import MeasureConfigError, measures_from_text


def test_the_shipped_measures_load() -> None:
    text = (resources.files("casewatch") / "config" / "measures.yaml").read_text()
    measures = measures_from_text(text, "measures.yaml")
    assert [m.id for m in measures] == [
        "repeat-victims",
        "repeat-marac-referrals",
        "idva-engagement",
        "high-risk-cases",
        "open-cases-per-caseworker",
        "community-triggers",
        "repeat-idva-referrals",
    ]
    assert measures[0].direction == "lower"
    assert measures[3].denominator is None


GOOD = """measures:
  - id: ok
    title: Fine
    numerator: {count: victims}
    denominator: {count: victims}
"""


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("numerator: {count: nonsense}\n    denominator: {count: victims}", "count: NAME"),
        ("numerator: {count: referrals}\n    denominator: {count: victims}", "needs to"),
        (
            "numerator: {count: victims, colour: red}\n    denominator: {count: victims}",
            "does not take colour",
        ),
        ("numerator: {count: victims}", "denominator must be"),
        (
            "numerator: {count: victims}\n    denominator: {count: victims}\n    direction: up",
            "direction must be",
        ),
        (
            "numerator: {count: victims}\n    denominator: {count: victims}\n    unit: count",
            "a count has no denominator",
        ),
        (
            "numerator: {count: victims}\n    denominator: {count: victims}\n    target: high",
            "target must be a number",
        ),
    ],
)
def test_errors_name_the_file_line_and_measure(entry: str, message: str) -> None:
    text = GOOD + f"  - id: bad\n    title: Bad\n    {entry}\n"
    with pytest.raises(MeasureConfigError) as caught:
        measures_from_text(text, "measures.yaml")
    assert str(caught.value).startswith("measures.yaml:6 ('bad')")
    assert message in str(caught.value)


def test_duplicate_ids_and_bad_yaml_are_refused() -> None:
    with pytest.raises(MeasureConfigError, match="appears twice"):
        measures_from_text(GOOD + GOOD.removeprefix("measures:\n"), "m.yaml")
    with pytest.raises(MeasureConfigError, match="not valid YAML"):
        measures_from_text("measures: [", "m.yaml")
