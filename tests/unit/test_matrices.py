"""Risk matrices: DASH thresholds and escalation, the weighted ASB matrix, and their files."""

from __future__ import annotations

import pytest

from casewatch.cases.matrices import (
    AnswersError,
    MatrixConfigError,
    asb_matrix_from_mapping,
    dash_matrix_from_mapping,
)
from casewatch.service.config import Config


@pytest.mark.parametrize(
    ("yes", "level"),
    [(0, "standard"), (9, "standard"), (10, "medium"), (13, "medium"), (14, "high"), (24, "high")],
)
def test_dash_yes_count_thresholds(config: Config, yes: int, level: str) -> None:
    """14 or more yes is high, 10-13 medium, otherwise standard; the score is the yes-count."""
    answers = [True] * yes + [False] * (24 - yes)
    result = config.matrices.dash.assess(answers, None, None)
    assert (result.level, result.score) == (level, yes)


@pytest.mark.parametrize(("police", "level"), [(None, "standard"), (2, "standard"), (3, "high")])
def test_dash_potential_escalation(config: Config, police: int | None, level: str) -> None:
    """Three or more police call-outs in 12 months make a DASH assessment high."""
    result = config.matrices.dash.assess([False] * 24, None, police)
    assert result.level == level
    assert result.potential_escalation is (level == "high")


def test_dash_escalation_applies_to_a_direct_level(config: Config) -> None:
    """Potential escalation raises a directly given level too."""
    assert config.matrices.dash.assess(None, "medium", 4).level == "high"


def test_dash_needs_24_answers(config: Config) -> None:
    """The checklist has 24 questions; 23 answers is an error that says so."""
    with pytest.raises(AnswersError, match="24"):
        config.matrices.dash.assess([True] * 23, None, None)


def test_shipped_dash_has_24_questions(config: Config) -> None:
    """The shipped checklist is the 24-question DASH RIC."""
    assert len(config.matrices.dash.questions) == 24


def test_asb_score_is_the_sum_of_weights(config: Config) -> None:
    """The ASB score sums the weights answered yes; the file's thresholds give the level."""
    asb = config.matrices.asb
    answers = {"p1": True, "p2": True, "s1": True, "i1": True, "p3": False}
    expected = sum(asb.questions[q].weight for q in ("p1", "p2", "s1", "i1"))
    result = asb.assess(answers, None)
    assert result.score == expected == 12
    assert result.level == "medium"


def test_asb_high_and_low(config: Config) -> None:
    """All yes is high; all no is low with score 0."""
    asb = config.matrices.asb
    assert asb.assess(dict.fromkeys(asb.questions, True), None).level == "high"
    assert asb.assess(dict.fromkeys(asb.questions, False), None).score == 0


def test_asb_unknown_question_is_named(config: Config) -> None:
    """An unknown question id is an error naming it."""
    with pytest.raises(AnswersError, match="'q99'"):
        config.matrices.asb.assess({"q99": True}, None)


def test_asb_direct_level_has_no_score(config: Config) -> None:
    """A level given directly is taken as it is, with a null score."""
    result = config.matrices.asb.assess(None, "high")
    assert (result.level, result.score) == ("high", None)


def test_partnership_matrix_file() -> None:
    """A partnership's own matrix replaces the default: weights and thresholds are data."""
    matrix = asb_matrix_from_mapping(
        {
            "questions": [
                {"id": "a", "text": "A?", "weight": 5},
                {"id": "b", "text": "B?", "weight": 1},
            ],
            "thresholds": {"high": 5, "low": 0},
        },
        "mine.yaml",
    )
    assert matrix.assess({"a": True}, None).level == "high"
    assert matrix.assess({"b": True}, None).level == "low"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"questions": [], "thresholds": {"low": 0}}, "non-empty list"),
        (
            {"questions": [{"id": "a", "text": "A?", "weight": 1}], "thresholds": {"high": 3}},
            "start at 0",
        ),
        (
            {
                "questions": [
                    {"id": "a", "text": "A?", "weight": 1},
                    {"id": "a", "text": "B?", "weight": 1},
                ],
                "thresholds": {"low": 0},
            },
            "appears twice",
        ),
        (
            {"questions": [{"id": "a", "text": "A?", "weight": -1}], "thresholds": {"low": 0}},
            "weight",
        ),
        (
            {"questions": [{"id": "a", "text": "A?", "weight": 1}], "thresholds": {"severe": 0}},
            "not a risk level",
        ),
        (
            {
                "questions": [{"id": "a", "text": "A?", "weight": 1}],
                "thresholds": {"low": 5, "high": 0},
            },
            "never give a lower level",
        ),
    ],
)
def test_bad_asb_matrix_files_are_explained(data: object, message: str) -> None:
    """A broken matrix file is refused with the file name and what is wrong."""
    with pytest.raises(MatrixConfigError, match=message) as caught:
        asb_matrix_from_mapping(data, "mine.yaml")
    assert "mine.yaml" in str(caught.value)


def test_bad_dash_thresholds_are_refused() -> None:
    """DASH thresholds must be ordered and within the number of questions."""
    with pytest.raises(MatrixConfigError, match="medium <= high"):
        dash_matrix_from_mapping(
            {
                "questions": [{"id": "q1", "text": "?"}],
                "thresholds": {"high": 14, "medium": 10},
                "potential_escalation_police_incidents": 3,
            },
            "dash.yaml",
        )


def test_matrix_version_follows_content(config: Config) -> None:
    """A matrix's version is a hash of its content, so a changed file is a new version."""
    data = {"questions": [{"id": "a", "text": "A?", "weight": 1}], "thresholds": {"low": 0}}
    changed = {"questions": [{"id": "a", "text": "A?", "weight": 2}], "thresholds": {"low": 0}}
    assert (
        asb_matrix_from_mapping(data, "x").version != asb_matrix_from_mapping(changed, "x").version
    )
