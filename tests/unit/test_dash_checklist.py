"""The SafeLives Dash checklist: its order and ids, answers by id, potential escalation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from casewatch.cases.events import Event
from casewatch.cases.matrices import (
    AnswersError,
    Matrices,
    MatrixConfigError,
    dash_matrix_from_mapping,
)
from casewatch.cases.state import fold
from casewatch.cases.validation import EventValidator, RejectedEventError
from casewatch.engine.derive import derive
from casewatch.engine.evaluators import ReferenceEvaluator
from casewatch.service.config import Config, load_config
from tests.builders import ev, opened

SHIPPED = load_config(None)
# SafeLives' published order (safelives.org.uk, Dash risk checklist), checked by hand:
# 1-9 current situation, 10-21 the abuse and the abuser, 22-24 suicide, bail, police.
SAFELIVES_ORDER = (
    "injury", "very_frightened", "afraid_of_violence", "isolated", "depressed_or_suicidal",
    "separation", "child_contact_conflict", "stalking", "pregnancy", "more_often",
    "getting_worse", "controlling_or_jealous", "weapons", "threats_to_kill", "strangulation",
    "sexual_abuse", "other_threats", "hurt_others", "animals", "financial",
    "drugs_alcohol_mental_health", "abuser_suicide", "broken_bail_or_order", "criminal_history",
)  # fmt: skip


def test_the_checklist_is_safelives_24_questions_in_their_order() -> None:
    """24 stable ids in SafeLives' order; no police-form children questions."""
    questions = SHIPPED.matrices.dash.questions
    assert tuple(q.id for q in questions) == SAFELIVES_ORDER
    texts = [q.text.lower() for q in questions]
    assert "suicide" in texts[21]
    assert "bail" in texts[22]
    assert "criminal history" in texts[23]
    assert not any("hurt the children" in text or "dependants in the" in text for text in texts)


def test_the_checklist_file_credits_safelives() -> None:
    """The shipped file names SafeLives as the checklist's source and says the order."""
    text = _shipped_dash_text()
    assert "SafeLives" in text
    assert "published" in text


@given(st.lists(st.booleans(), min_size=24, max_size=24), st.integers(0, 5))
def test_the_same_answers_by_id_and_by_position_give_the_same_level(
    answers: list[bool], police: int
) -> None:
    """A list in SafeLives' order and an object by id are one form: same level and score."""
    dash = SHIPPED.matrices.dash
    by_id = dict(zip(SAFELIVES_ORDER, answers, strict=True))
    assert dash.assess(answers, None, police) == dash.assess(by_id, None, police)


def test_answers_by_id_are_read_by_id_not_by_order() -> None:
    """Key order is irrelevant: the 14 yes answers in reverse key order are still 14."""
    dash = SHIPPED.matrices.dash
    answers = {qid: index >= 10 for index, qid in reversed(list(enumerate(SAFELIVES_ORDER)))}
    result = dash.assess(answers, None, None)
    assert (result.level, result.score) == ("high", 14)


def test_bad_answers_by_id_name_every_wrong_id() -> None:
    """Missing, unknown and non-boolean entries are each named in one message."""
    answers: dict[str, Any] = dict.fromkeys(SAFELIVES_ORDER, False)
    del answers["injury"], answers["pregnancy"]
    answers["children_hurt"] = True
    answers["weapons"] = "yes"
    with pytest.raises(AnswersError) as caught:
        SHIPPED.matrices.dash.assess(answers, None, None)
    message = str(caught.value)
    for qid in ("injury", "pregnancy", "children_hurt", "weapons"):
        assert f"'{qid}'" in message
    assert "no answer for 'injury', 'pregnancy'" in message
    assert "unknown question id(s) 'children_hurt'" in message
    assert "not true/false: 'weapons'" in message


def test_an_import_line_with_bad_ids_is_rejected_whole(config: Config) -> None:
    """The validator refuses the line, naming the ids; nothing is built from it."""
    line = ev("risk_assessed", "C1", "2015-01-05T10:00:00+00:00", matrix="dash",
              answers={"injury": True})  # fmt: skip
    with pytest.raises(RejectedEventError) as caught:
        config.validator().validate(line)
    assert caught.value.problems[0].path == "answers"
    assert "'very_frightened'" in caught.value.problems[0].words
    assert "'criminal_history'" in caught.value.problems[0].words


def _dash(counts: str, threshold: int = 3, months: int = 12) -> Matrices:
    data = yaml.safe_load(_shipped_dash_text())
    data["potential_escalation"] = {"counts": counts, "threshold": threshold,
                                    "window_months": months}  # fmt: skip
    return Matrices(dash=dash_matrix_from_mapping(data, "dash.yaml"), asb=SHIPPED.matrices.asb)


def _shipped_dash_text() -> str:
    from importlib import resources  # noqa: PLC0415

    return (resources.files("casewatch") / "config" / "dash.yaml").read_text()


def _level(matrices: Matrices, incidents: int, police: int | None) -> tuple[str, bool]:
    """The case's level after `incidents` DA incidents in the last months and a standard
    DASH assessment with `police` call-outs."""
    validator = EventValidator(matrices, SHIPPED.policies.case_types())
    lines: list[Mapping[str, Any]] = [
        opened("D1", "2014-01-02T09:00:00+00:00", case_type="domestic_abuse")
    ]
    lines += [
        ev("incident_reported", "D1", f"2014-0{2 + i}-01T09:00:00+00:00", category="domestic_abuse")
        for i in range(incidents)
    ]
    lines.append(ev("risk_assessed", "D1", "2014-09-01T09:00:00+01:00", matrix="dash",
                    answers=[False] * 24, police_incidents_12m=police))  # fmt: skip
    events: list[Event] = [validator.validate(dict(line)).event for line in lines]
    state = fold("D1", events)
    assert state.risk is not None
    return state.risk.level, state.risk.potential_escalation


@pytest.mark.parametrize(
    ("counts", "incidents", "police", "high"),
    [
        ("police_incidents_12m", 5, 2, False),  # the default counts the police number only
        ("police_incidents_12m", 0, 3, True),
        ("case_incidents", 3, None, True),  # three incidents on the case in 12 months
        ("case_incidents", 2, 9, False),  # the police number no longer counts
        ("larger", 2, 3, True),
        ("larger", 3, 0, True),
        ("larger", 2, 2, False),
    ],
)
def test_potential_escalation_counts_what_dash_yaml_says(
    counts: str, incidents: int, police: int | None, high: bool
) -> None:
    """Threshold 3; the case's incidents, the police number, or the larger of the two."""
    level, escalated = _level(_dash(counts), incidents, police)
    assert (level == "high", escalated) == (high, high)


def test_case_incidents_outside_the_window_do_not_count() -> None:
    """With a 6-month window, incidents from February to April are too old in September."""
    assert _level(_dash("case_incidents", months=6), 3, None)[0] == "standard"
    assert _level(_dash("case_incidents", months=8), 3, None)[0] == "high"


def test_a_bad_escalation_setting_is_refused_naming_it() -> None:
    """An unknown `counts` is a configuration error naming the key."""
    with pytest.raises(MatrixConfigError, match=r"potential_escalation\.counts"):
        _dash("everything")


def test_escalation_by_case_incidents_raises_the_flag_too() -> None:
    """The potential-escalation flag follows the configured criterion."""
    matrices = _dash("case_incidents")
    validator = EventValidator(matrices, SHIPPED.policies.case_types())
    lines = [opened("D1", "2014-01-02T09:00:00+00:00", case_type="domestic_abuse")]
    lines += [
        ev("incident_reported", "D1", f"2014-0{2 + i}-01T09:00:00+00:00", category="domestic_abuse")
        for i in range(3)
    ]
    lines.append(ev("risk_assessed", "D1", "2014-09-01T09:00:00+01:00", matrix="dash",
                    answers=[False] * 24, event_id="assess"))  # fmt: skip
    events = [validator.validate(line).event for line in lines]
    result = derive("D1", events, SHIPPED.rules, ReferenceEvaluator(SHIPPED.rules),
                    SHIPPED.calendar)  # fmt: skip
    flags = {f.flag: f for f in result.flags}
    assert flags["potential-escalation"].event_id == "assess"
    assert {c.policy for c in result.cycles} == {
        "da-high-risk-idva-contact",
        "da-high-risk-marac-referral",
    }
