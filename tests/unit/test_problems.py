"""Every problem the validator finds names the field it is about, as a JSON path."""

from __future__ import annotations

from typing import Any

import pytest

from casewatch.cases.problems import Problem, sentences
from casewatch.cases.validation import (
    MAX_NESTING,
    EventValidator,
    RejectedEventError,
    nesting_problems,
)
from casewatch.service.config import Config
from tests.builders import DASH_HIGH, assessed, ev, opened

AT = "2014-05-06T10:30:00+01:00"
GOOD_COMPLAINT = {
    "reported_at": "2014-05-01T09:00:00+01:00",
    "behaviour_at": "2014-04-30T21:00:00+01:00",
    "agency": "police",
}
GOOD_ACTION = {"agency": "police", "action": "visit"}
GOOD_RECOMMENDATION = {"id": "r1", "agency": "council", "action": "fence", "due": "2014-06-01"}


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def _review(**fields: Any) -> dict[str, Any]:
    return ev("case_review_requested", "C1", AT, **({"applicant": "victim"} | fields))


# (what is wrong, the line, the path of its one problem, how its words begin)
CASES: list[tuple[str, Any, str, str]] = [
    ("not an object", [1], "", "each line must be a JSON object ({...})"),
    (
        "no event_id",
        {k: v for k, v in opened("C1", AT).items() if k != "event_id"},
        "event_id",
        "'event_id' is missing",
    ),
    (
        "event_id a number",
        opened("C1", AT) | {"event_id": 7},
        "event_id",
        "'event_id' must be non-empty text",
    ),
    (
        "event_id too long",
        opened("C1", AT) | {"event_id": "x" * 201},
        "event_id",
        "'event_id' is longer than 200 characters",
    ),
    (
        "case_id empty",
        opened("C1", AT) | {"case_id": ""},
        "case_id",
        "'case_id' must be non-empty text",
    ),
    (
        "unknown type",
        ev("teleported", "C1", AT),
        "type",
        "unknown event type 'teleported' (known types: ",
    ),
    (
        "no at",
        {k: v for k, v in opened("C1", AT).items() if k != "at"},
        "at",
        "'at' is missing (a timestamp with offset, e.g. 2014-05-06T10:30:00+01:00)",
    ),
    (
        "at without offset",
        opened("C1", "2014-05-06T10:30:00"),
        "at",
        "'at' '2014-05-06T10:30:00' has no UTC offset",
    ),
    (
        "at in 1850",
        opened("C1", "1850-05-06T10:30:00+00:00"),
        "at",
        "'at' must fall between the years 1900 and 2999",
    ),
    (
        "unknown case type",
        opened("C1", AT, case_type="burglary"),
        "case_type",
        "'case_type' must be one of 'asb'",
    ),
    (
        "team too long",
        opened("C1", AT, team="t" * 201),
        "team",
        "'team' is longer than 200 characters",
    ),
    (
        "tags not a list",
        opened("C1", AT, tags="urgent"),
        "tags",
        "'tags' must be a list of text values",
    ),
    (
        "victim not an object",
        opened("C1", AT, victim="Ada"),
        "victim",
        "'victim' must be an object",
    ),
    (
        "NUL in a value",
        opened("C1", AT, team="north\x00"),
        "team",
        "'team' contains the NUL character (U+0000)",
    ),
    (
        "NUL in a key",
        opened("C1", AT) | {"note\x00": "x"},
        "note\\0",
        "'note\\0' contains the NUL character",
    ),
    (
        "NUL under a blank key",
        opened("C1", AT) | {" ": "\x00"},
        "",
        "' ' contains the NUL character",
    ),
    (
        "lone surrogate",
        ev("case_closed", "C1", AT, outcome="\ud800"),
        "outcome",
        "'outcome' contains half of a UTF-16 surrogate pair",
    ),
    (
        "nested too deeply",
        opened("C1", AT) | {"deep": _deep(MAX_NESTING)},
        "deep",
        "'deep' is nested too deeply",
    ),
    (
        "victim reference blank",
        opened("C1", AT, victim={"reference": " "}),
        "victim.reference",
        "'victim.reference' must be non-empty text (the partnership's reference)",
    ),
    (
        "victim reference too long",
        opened("C1", AT, victim={"reference": "R" * 65}),
        "victim.reference",
        "'victim.reference' is longer than 64 characters",
    ),
    (
        "victim reference unprintable",
        opened("C1", AT, victim={"reference": "PR\t1"}),
        "victim.reference",
        "'victim.reference' holds a character that cannot be printed",
    ),
    ("no category", ev("incident_reported", "C1", AT), "category", "'category' is missing"),
    (
        "police_attended not a flag",
        ev("incident_reported", "C1", AT, category="noise", police_attended="yes"),
        "police_attended",
        "'police_attended' must be true or false",
    ),
    (
        "level and answers both",
        assessed("C1", AT, "high", answers={"p1": True}),
        "answers",
        "give exactly one of 'level' or 'answers'",
    ),
    (
        "DASH answers too few",
        ev("risk_assessed", "C1", AT, matrix="dash", answers=[True]),
        "answers",
        "a DASH checklist has 24 yes/no answers",
    ),
    (
        "DASH answers not true/false",
        ev("risk_assessed", "C1", AT, matrix="dash", answers=["yes"] * 24),
        "answers",
        "DASH 'answers' must be a list of true/false values",
    ),
    (
        "ASB answers a list",
        ev("risk_assessed", "C1", AT, matrix="asb", answers=[True]),
        "answers",
        "ASB 'answers' must be an object of question id to true/false",
    ),
    (
        "ASB answers unknown id",
        ev("risk_assessed", "C1", AT, matrix="asb", answers={"zz": True}),
        "answers",
        "unknown ASB matrix question id(s): 'zz'",
    ),
    (
        "unknown matrix",
        assessed("C1", AT, "high", matrix="marac"),
        "matrix",
        "'matrix' must be one of",
    ),
    ("unknown level", assessed("C1", AT, "severe"), "level", "'level' must be one of"),
    (
        "police incidents negative",
        assessed("C1", AT, "high", police_incidents_12m=-1),
        "police_incidents_12m",
        "'police_incidents_12m' must be a whole number, 0 or more",
    ),
    (
        "judgement not an object",
        assessed("C1", AT, "high", professional_judgement="high"),
        "professional_judgement",
        "'professional_judgement' must be an object",
    ),
    (
        "judgement without reason",
        assessed("C1", AT, "high", professional_judgement={"level": "high"}),
        "professional_judgement.reason",
        "professional_judgement: 'reason' is missing",
    ),
    (
        "judgement level unknown",
        assessed("C1", AT, "high", professional_judgement={"level": "severe", "reason": "r"}),
        "professional_judgement.level",
        "professional_judgement: 'level' must be one of",
    ),
    (
        "judgement lowers",
        ev(
            "risk_assessed",
            "C1",
            AT,
            matrix="dash",
            answers=DASH_HIGH,
            professional_judgement={"level": "medium", "reason": "calmer"},
        ),
        "professional_judgement",
        "professional judgement can raise a risk level but never lower it",
    ),
    (
        "actions not a list",
        ev("partner_actions_agreed", "C1", AT, actions="visit"),
        "actions",
        "'actions' must be a list of {agency, action, due}",
    ),
    (
        "an action not an object",
        ev("partner_actions_agreed", "C1", AT, actions=[GOOD_ACTION, "visit"]),
        "actions[1]",
        "actions[2] must be an object {agency, action, due}",
    ),
    (
        "an action without agency",
        ev("partner_actions_agreed", "C1", AT, actions=[GOOD_ACTION, {"action": "visit"}]),
        "actions[1].agency",
        "actions[2]: 'agency' is missing",
    ),
    (
        "unknown contact method",
        ev("contact_attempted", "C1", AT, method="fax"),
        "method",
        "'method' must be one of",
    ),
    ("no referral target", ev("referral_made", "C1", AT), "to", "'to' is missing (one of "),
    (
        "referral incident_at without offset",
        ev("referral_made", "C1", AT, to="marac", incident_at="2014-05-06T09:00:00"),
        "incident_at",
        "'incident_at' '2014-05-06T09:00:00' has no UTC offset",
    ),
    (
        "referral incident in 1850",
        ev("referral_made", "C1", AT, to="marac", incident_at="1850-05-06T09:00:00+00:00"),
        "incident_at",
        "'incident_at' must fall between the years 1900 and 2999",
    ),
    (
        "referral incident after the referral",
        ev("referral_made", "C1", AT, to="marac", incident_at="2014-05-07T09:00:00+01:00"),
        "incident_at",
        "'incident_at' (the incident that prompted the referral) cannot be after the "
        "referral's 'at'",
    ),
    (
        "DASH answers by id, one unknown",
        ev("risk_assessed", "C1", AT, matrix="dash", answers={"zz": True}),
        "answers",
        "DASH 'answers' by question id must name every question of the checklist once",
    ),
    (
        "unknown policy",
        ev("sla_paused", "C1", AT, policy="nope", reason="r"),
        "policy",
        "unknown policy 'nope' (policies: ",
    ),
    (
        "no pause reason",
        ev("sla_paused", "C1", AT, policy="asb-high-risk-conference"),
        "reason",
        "'reason' is missing",
    ),
    (
        "no applicant",
        ev("case_review_requested", "C1", AT, complaints=[GOOD_COMPLAINT]),
        "applicant",
        "'applicant' is missing",
    ),
    (
        "no complaints",
        _review(complaints=[]),
        "complaints",
        "'complaints' must be a non-empty list of {reported_at, behaviour_at, agency, [incident]}",
    ),
    (
        "a complaint not an object",
        _review(complaints=[GOOD_COMPLAINT, 3]),
        "complaints[1]",
        "complaints[2] must be an object",
    ),
    (
        "a complaint without agency",
        _review(
            complaints=[GOOD_COMPLAINT, {k: v for k, v in GOOD_COMPLAINT.items() if k != "agency"}]
        ),
        "complaints[1].agency",
        "complaints[2]: 'agency' is missing",
    ),
    (
        "a complaint without reported_at",
        _review(complaints=[{k: v for k, v in GOOD_COMPLAINT.items() if k != "reported_at"}]),
        "complaints[0].reported_at",
        "complaints[1]: 'reported_at' is missing (a timestamp with offset",
    ),
    (
        "a complaint's behaviour_at without offset",
        _review(complaints=[GOOD_COMPLAINT | {"behaviour_at": "2014-04-30T21:00:00"}]),
        "complaints[0].behaviour_at",
        "complaints[1]: 'behaviour_at' '2014-04-30T21:00:00' has no UTC offset",
    ),
    (
        "a complaint in 1850",
        _review(complaints=[GOOD_COMPLAINT | {"reported_at": "1850-05-01T09:00:00+00:00"}]),
        "complaints[0].reported_at",
        "complaints[1]: 'reported_at' must fall between the years 1900 and 2999",
    ),
    (
        "a complaint after the application",
        _review(complaints=[GOOD_COMPLAINT | {"reported_at": "2014-05-07T09:00:00+01:00"}]),
        "complaints[0].reported_at",
        "complaints[1]: 'reported_at' 2014-05-07T09:00:00+01:00 is after the application",
    ),
    (
        "unknown stage",
        ev("applicant_informed", "C1", AT, stage="later"),
        "stage",
        "'stage' must be one of",
    ),
    (
        "no threshold decision",
        ev("threshold_decided", "C1", AT, reason="r"),
        "met",
        "'met' is missing (true or false)",
    ),
    (
        "threshold decision not a flag",
        ev("threshold_decided", "C1", AT, met="yes", reason="r"),
        "met",
        "'met' must be true or false",
    ),
    (
        "recommendations not a list",
        ev("recommendations_made", "C1", AT),
        "recommendations",
        "'recommendations' must be a list (it may be empty) of {id, agency, action, due}",
    ),
    (
        "a recommendation not an object",
        ev("recommendations_made", "C1", AT, recommendations=[GOOD_RECOMMENDATION, "fence"]),
        "recommendations[1]",
        "recommendations[2] must be an object {id, agency, action, due}",
    ),
    (
        "a recommendation's due not a date",
        ev(
            "recommendations_made",
            "C1",
            AT,
            recommendations=[GOOD_RECOMMENDATION | {"due": "soon"}],
        ),
        "recommendations[0].due",
        "recommendations[1]: 'due' must be a date (YYYY-MM-DD), not 'soon'",
    ),
    (
        "a recommendation id used twice",
        ev("recommendations_made", "C1", AT, recommendations=[GOOD_RECOMMENDATION] * 2),
        "recommendations[1].id",
        "recommendations[2]: id 'r1' is already used by recommendations[1]",
    ),
    ("no recommendation id", ev("recommendation_completed", "C1", AT), "id", "'id' is missing"),
    (
        "no appeal decision",
        ev("appeal_decided", "C1", AT, reason="r"),
        "upheld",
        "'upheld' is missing (true or false)",
    ),
]


@pytest.mark.parametrize(
    ("line", "path", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_problem_names_its_field(config: Config, line: Any, path: str, words: str) -> None:
    """The line's one problem carries the path of the field it is about and its words."""
    validator: EventValidator = config.validator()
    with pytest.raises(RejectedEventError) as caught:
        validator.validate(line)
    problems = caught.value.problems
    assert [p.path for p in problems] == [path], problems
    assert problems[0].words.startswith(words), problems


def test_the_rejection_says_every_problem_in_one_sentence(config: Config) -> None:
    """The exception's text is the problems' words joined by '; ', as the import prints them."""
    line = ev("contact_attempted", "C1", "2014-05-06T10:30:00", method="fax")
    with pytest.raises(RejectedEventError) as caught:
        config.validator().validate(line)
    problems = caught.value.problems
    assert [p.path for p in problems] == ["at", "method"]
    assert str(caught.value) == f"{problems[0].words}; {problems[1].words}"
    assert str(caught.value) == sentences(problems)


def test_a_problem_within_a_list_item_counts_from_0_in_its_path_and_1_in_words() -> None:
    """Nesting prefixes both: the path as JSON counts, the words as people count."""
    inner = Problem("agency", "'agency' is missing")
    assert inner.within("actions[0]", "actions[1]") == Problem(
        "actions[0].agency", "actions[1]: 'agency' is missing"
    )
    whole = Problem("", "must be an object")
    assert whole.within("actions[2]", "actions[3]").path == "actions[2]"


def test_too_deep_fields_are_named_before_serialising() -> None:
    """The HTTP service's early depth check names each field nested too deeply."""
    event = {"type": "incident_reported", "deep": _deep(MAX_NESTING), "flat": [1]}
    found = nesting_problems(event)
    assert [p.path for p in found] == ["deep"]
    assert found[0].words.startswith("'deep' is nested too deeply")
