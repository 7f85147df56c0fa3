"""One test per validation rule of contract section 1 that a single line can break."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casewatch.cases.events import (
    CaseClosed,
    CaseConferenceHeld,
    CaseOpened,
    CaseReopened,
    Event,
    IdvaContactMade,
    PartnerActionsAgreed,
    RiskAssessed,
    content_hash,
    level_rank,
)
from casewatch.cases.problems import Problem
from casewatch.cases.validation import (
    TOO_DEEP,
    EventValidator,
    RejectedEventError,
    ValidEvent,
    nesting_before_parsing,
    nesting_problems,
)
from casewatch.service.config import Config
from tests.builders import DASH_HIGH, DASH_MEDIUM, DASH_STANDARD, assessed, ev, opened

AT = "2014-05-06T10:30:00+01:00"


@pytest.fixture
def validator(config: Config) -> EventValidator:
    return config.validator()


def accept(validator: EventValidator, line: dict[str, Any]) -> ValidEvent:
    return validator.validate(line)


def problems(validator: EventValidator, line: Any) -> str:
    with pytest.raises(RejectedEventError) as caught:
        validator.validate(line)
    return str(caught.value)


def test_a_line_must_be_an_object(validator: EventValidator) -> None:
    """A JSON array or number is not an event."""
    assert "JSON object" in problems(validator, [1, 2])


@pytest.mark.parametrize("missing", ["event_id", "type", "case_id", "at"])
def test_envelope_fields_are_required(validator: EventValidator, missing: str) -> None:
    """Every line carries event_id, type, case_id and at."""
    line = opened("C1", AT)
    del line[missing]
    assert f"'{missing}' is missing" in problems(validator, line)


def test_ids_must_be_text(validator: EventValidator) -> None:
    """event_id and case_id are strings."""
    assert "'event_id' must be non-empty text" in problems(
        validator, opened("C1", AT) | {"event_id": 7}
    )
    assert "'case_id' must be non-empty text" in problems(
        validator, opened("C1", AT) | {"case_id": ""}
    )


def test_unknown_type_is_an_error(validator: EventValidator) -> None:
    """Unknown event types are refused, listing the known ones."""
    message = problems(validator, ev("case_openned", "C1", AT))
    assert "unknown event type 'case_openned'" in message
    assert "case_opened" in message


def test_naive_timestamp_is_an_error(validator: EventValidator) -> None:
    """A timestamp without an offset is refused."""
    assert "no UTC offset" in problems(validator, opened("C1", "2014-05-06T10:30:00"))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"team": "north\x00"}, "team"),
        ({"victim": {"name": "A\x00B"}}, "victim"),
        ({"tags": ["ok", "bad\x00"]}, "tags"),
        ({"note\x00": "x"}, "note\\0"),
    ],
)
def test_text_holding_a_nul_is_refused_by_its_field(
    validator: EventValidator, extra: dict[str, Any], field: str
) -> None:
    """PostgreSQL cannot store NUL in text: refused in words, never a database error."""
    assert f"'{field}' contains the NUL character" in problems(validator, opened("C1", AT) | extra)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"])
def test_a_year_no_case_can_have_is_refused(validator: EventValidator, at: str) -> None:
    """Years outside 1900-2999 would overflow the SLA arithmetic; they are refused."""
    assert "'at' must fall between the years 1900 and 2999" in problems(validator, opened("C1", at))


def test_team_and_caseworker_fit_their_columns(validator: EventValidator) -> None:
    """Names longer than the 200 characters stored are refused, not truncated."""
    message = problems(validator, opened("C1", AT) | {"team": "t" * 201, "caseworker": "c" * 201})
    assert "'team' is longer than 200 characters" in message
    assert "'caseworker' is longer than 200 characters" in message


def test_rejection_names_the_event(validator: EventValidator) -> None:
    """A rejection carries the event id so the error can name it."""
    with pytest.raises(RejectedEventError) as caught:
        validator.validate(opened("C1", "nope", event_id="e-77"))
    assert caught.value.event_id == "e-77"


def test_all_problems_of_a_line_are_reported(validator: EventValidator) -> None:
    """Several problems on one line are all listed, not just the first."""
    message = problems(
        validator, {"event_id": "e", "type": "case_opened", "case_id": "C", "at": "x"}
    )
    assert "'at'" in message
    assert "'case_type' is missing" in message


@pytest.mark.parametrize("case_type", ["ASB", "burglary", ""])
def test_case_type_must_be_known(validator: EventValidator, case_type: str) -> None:
    """case_type is asb or domestic_abuse."""
    assert "case_type" in problems(validator, opened("C1", AT, case_type=case_type))


def test_victim_data_is_kept_apart(validator: EventValidator) -> None:
    """The victim's personal data is not in the stored payload but counts for duplicates."""
    line = opened("C1", AT, team="north", victim={"name": "Ada Example", "postcode": "ZZ1 1ZZ"})
    valid = accept(validator, line)
    assert "Ada Example" not in valid.payload
    assert valid.personal is not None and "Ada Example" in valid.personal
    assert valid.content_hash == content_hash(line)
    assert isinstance(valid.event, CaseOpened)
    assert "Ada" not in repr(valid.event)


def test_victim_must_be_an_object(validator: EventValidator) -> None:
    """victim is an object of personal details."""
    assert "'victim' must be an object" in problems(validator, opened("C1", AT, victim="Ada"))


def test_incident_needs_a_category(validator: EventValidator) -> None:
    """incident_reported needs its category; police_attended is a boolean."""
    assert "'category' is missing" in problems(validator, ev("incident_reported", "C1", AT))
    message = problems(
        validator, ev("incident_reported", "C1", AT, category="noise", police_attended="yes")
    )
    assert "police_attended" in message


@pytest.mark.parametrize(
    ("answers", "level", "score"),
    [(DASH_HIGH, "high", 14), (DASH_MEDIUM, "medium", 10), (DASH_STANDARD, "standard", 9)],
)
def test_dash_answers_give_level_and_score(
    validator: EventValidator, answers: list[bool], level: str, score: int
) -> None:
    """DASH answers are scored by yes-count when the event is accepted."""
    valid = accept(validator, ev("risk_assessed", "C1", AT, matrix="dash", answers=answers))
    assert isinstance(valid.event, RiskAssessed)
    assert (valid.event.level, valid.event.assessment.score) == (level, score)
    assert valid.derived is not None and json.loads(valid.derived)["level"] == level


def test_exactly_one_of_level_or_answers(validator: EventValidator) -> None:
    """Both, or neither, of level and answers is an error."""
    both = assessed("C1", AT, "high", matrix="dash", answers=DASH_HIGH)
    neither = ev("risk_assessed", "C1", AT, matrix="dash")
    assert "exactly one of 'level' or 'answers'" in problems(validator, both)
    assert "exactly one of 'level' or 'answers'" in problems(validator, neither)


def test_matrix_must_be_known(validator: EventValidator) -> None:
    """matrix is asb or dash."""
    assert "'matrix'" in problems(validator, assessed("C1", AT, "high", matrix="marac"))


def test_level_must_be_known(validator: EventValidator) -> None:
    """Levels are low, standard, medium or high."""
    assert "'level'" in problems(validator, assessed("C1", AT, "severe"))


def test_dash_answers_must_be_24_booleans(validator: EventValidator) -> None:
    """DASH answers are 24 booleans."""
    assert "24" in problems(
        validator, ev("risk_assessed", "C1", AT, matrix="dash", answers=[True] * 20)
    )
    assert "true/false" in problems(
        validator, ev("risk_assessed", "C1", AT, matrix="dash", answers=["yes"] * 24)
    )


def test_asb_unknown_question_is_an_error(validator: EventValidator) -> None:
    """An ASB answer to a question the matrix does not have is an error."""
    message = problems(
        validator, ev("risk_assessed", "C1", AT, matrix="asb", answers={"nope": True})
    )
    assert "'nope'" in message


def test_asb_answers_are_an_object(validator: EventValidator) -> None:
    """ASB answers are {question id: boolean}."""
    assert "object" in problems(
        validator, ev("risk_assessed", "C1", AT, matrix="asb", answers=[True])
    )


def test_professional_judgement_raises(validator: EventValidator) -> None:
    """Professional judgement raises a level reached by the answers."""
    line = ev(
        "risk_assessed",
        "C1",
        AT,
        matrix="dash",
        answers=DASH_MEDIUM,
        professional_judgement={"level": "high", "reason": "escalating threats"},
    )
    event = accept(validator, line).event
    assert isinstance(event, RiskAssessed)
    assert (event.level, event.assessment.score) == ("high", 10)


def test_professional_judgement_may_equal(validator: EventValidator) -> None:
    """The same level as the answers is allowed."""
    line = assessed(
        "C1", AT, "medium", professional_judgement={"level": "medium", "reason": "agreed"}
    )
    assert accept(validator, line).event.level == "medium"  # type: ignore[attr-defined]


def test_professional_judgement_never_lowers(validator: EventValidator) -> None:
    """A judgement below the answers' level is an error."""
    line = ev(
        "risk_assessed",
        "C1",
        AT,
        matrix="dash",
        answers=DASH_HIGH,
        professional_judgement={"level": "medium", "reason": "victim seems calmer"},
    )
    assert "never lower" in problems(validator, line)


def test_judgement_cannot_lower_below_escalation(validator: EventValidator) -> None:
    """Potential escalation counts before judgement: it cannot be judged back down."""
    line = ev(
        "risk_assessed",
        "C1",
        AT,
        matrix="dash",
        answers=DASH_STANDARD,
        police_incidents_12m=3,
        professional_judgement={"level": "standard", "reason": "x"},
    )
    assert "never lower" in problems(validator, line)


def test_professional_judgement_needs_a_reason(validator: EventValidator) -> None:
    """A judgement must say why."""
    line = assessed("C1", AT, "medium", professional_judgement={"level": "high", "reason": " "})
    assert "professional_judgement: 'reason'" in problems(validator, line)


def test_police_incidents_must_be_a_count(validator: EventValidator) -> None:
    """police_incidents_12m is a whole number."""
    assert "police_incidents_12m" in problems(
        validator, assessed("C1", AT, "low", police_incidents_12m=-1)
    )


def test_partner_actions_shape(validator: EventValidator) -> None:
    """Each agreed action names its agency and action."""
    good = ev(
        "partner_actions_agreed", "C1", AT, actions=[{"agency": "police", "action": "patrol"}]
    )
    accept(validator, good)
    bad = ev("partner_actions_agreed", "C1", AT, actions=[{"agency": "police"}])
    assert "actions[1]: 'action' is missing" in problems(validator, bad)


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("contact_attempted", "method", "email"),
        ("referral_made", "to", "social_services"),
    ],
)
def test_enumerated_fields(
    validator: EventValidator, event_type: str, field: str, value: str
) -> None:
    """Contact methods and referral targets come from fixed lists."""
    assert f"'{field}' must be one of" in problems(
        validator, ev(event_type, "C1", AT, **{field: value})
    )


@pytest.mark.parametrize(
    "event_type", ["sla_paused", "sla_resumed", "sla_excluded", "breach_explained"]
)
def test_sla_instructions_need_policy_and_reason(
    validator: EventValidator, event_type: str
) -> None:
    """SLA instructions name a known policy and give a non-empty reason."""
    message = problems(validator, ev(event_type, "C1", AT, policy="no-such-policy", reason=""))
    assert "unknown policy 'no-such-policy'" in message
    assert "'reason'" in message
    accept(
        validator, ev(event_type, "C1", AT, policy="asb-high-risk-conference", reason="court case")
    )


@pytest.mark.parametrize(
    ("event_type", "record", "defaults"),
    [
        ("idva_contact_made", IdvaContactMade, {}),
        ("case_closed", CaseClosed, {"outcome": None}),
        ("case_reopened", CaseReopened, {}),
        ("case_conference_held", CaseConferenceHeld, {"agencies": ()}),
        ("partner_actions_agreed", PartnerActionsAgreed, {"actions": ()}),
    ],
)
def test_events_without_required_fields(
    validator: EventValidator, event_type: str, record: type[Event], defaults: dict[str, Any]
) -> None:
    """Events with only optional fields are accepted bare, as their own record with the
    envelope read and every optional field at its empty default, storing just the line."""
    line = ev(event_type, "C1", AT)
    valid = accept(validator, line)
    event = valid.event
    assert type(event) is record
    assert (event.event_id, event.case_id) == (line["event_id"], "C1")
    assert event.at == datetime(2014, 5, 6, 9, 30, tzinfo=UTC)
    assert {name: getattr(event, name) for name in defaults} == defaults
    assert json.loads(valid.payload) == line
    assert (valid.derived, valid.personal) == (None, None)


def test_content_hash_ignores_key_order(validator: EventValidator) -> None:
    """Content is compared as JSON values: key order does not matter."""
    line = opened("C1", AT, team="north")
    reordered = dict(reversed(list(line.items())))
    assert accept(validator, line).content_hash == accept(validator, reordered).content_hash


_levels = st.sampled_from(["low", "standard", "medium", "high"])


@settings(max_examples=300)
@given(
    answers=st.lists(st.booleans(), min_size=24, max_size=24),
    police=st.none() | st.integers(0, 6),
    judgement=_levels,
)
def test_professional_judgement_never_lowers_property(
    config: Config, answers: list[bool], police: int | None, judgement: str
) -> None:
    """For any checklist and judgement: accepted only if it does not lower, and the final
    level is never below what the answers (and escalation) gave."""
    validator = config.validator()
    computed = config.matrices.dash.assess(answers, None, police).level
    line = ev(
        "risk_assessed",
        "C1",
        AT,
        matrix="dash",
        answers=answers,
        police_incidents_12m=police,
        professional_judgement={"level": judgement, "reason": "judged"},
    )
    if level_rank(judgement) < level_rank(computed):
        with pytest.raises(RejectedEventError, match="never lower"):
            validator.validate(line)
    else:
        event = validator.validate(line).event
        assert isinstance(event, RiskAssessed)
        assert level_rank(event.level) == max(level_rank(computed), level_rank(judgement))


def _deep(depth: int, shape: str) -> str:
    if shape == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


@settings(max_examples=200, deadline=None)
@given(
    depth=st.integers(1, 700),
    shape=st.sampled_from(["list", "object"]),
    decoy=st.sampled_from(["", "[" * 80, '\\"[[[' + "{" * 90, "\\\\"]),
)
def test_nesting_is_judged_before_parsing_as_the_validator_judges_it(
    depth: int, shape: str, decoy: str
) -> None:
    """Text is refused for nesting before any parser runs exactly when the parsed event
    would be, in the validator's own words for the same field, with the event id; brackets
    inside strings (escaped quotes too) do not count."""
    text = (
        f'{{"event_id": "e-{depth}", "note": "{decoy}", "x_deep": {_deep(depth, shape)}, '
        '"type": "incident_reported"}'
    )
    found = nesting_before_parsing(text, "the line")
    parsed = nesting_problems(json.loads(text))
    if depth <= 63:
        assert found is None
        assert parsed == []
    else:
        assert found is not None
        assert list(found.problems) == parsed == [Problem("x_deep", f"'x_deep' is {TOO_DEEP}")]
        assert found.event_id == f"e-{depth}"


def test_nesting_far_past_any_parsers_stack_is_refused_the_same_way() -> None:
    """50,000 levels (no JSON parser's stack survives that) get the same words, and a
    text that is no object is refused as a whole."""
    text = '{"event_id": "deep", "x": ' + _deep(50_000, "list") + "}"
    found = nesting_before_parsing(text, "the line")
    assert found is not None
    assert found.problems == (Problem("x", f"'x' is {TOO_DEEP}"),)
    assert found.event_id == "deep"
    whole = nesting_before_parsing(_deep(3_000, "list"), "the request body")
    assert whole is not None
    assert whole.problems == (Problem("", f"the request body is {TOO_DEEP}"),)
    assert whole.event_id is None
