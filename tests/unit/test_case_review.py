"""The ASB case review threshold and its line checks, hand-derived at the boundaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from casewatch.cases.case_review import (
    CaseReviewConfigError,
    CaseReviewSettings,
    ReviewEvent,
    case_review_settings_from_mapping,
    plus_months,
    qualifying_complaints,
    review_problems,
)
from casewatch.cases.events import CaseReviewRequested, Complaint, ThresholdDecided
from casewatch.cases.problems import Problem
from casewatch.cases.validation import EventValidator, RejectedEventError
from casewatch.service.config import Config, ConfigError, load_config
from tests.builders import ev

LONDON = ZoneInfo("Europe/London")
SETTINGS = CaseReviewSettings(threshold=3, tz=LONDON)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def complaint(reported: str, behaviour: str, agency: str = "police", **extra: Any) -> Complaint:
    return Complaint(reported_at=t(reported), behaviour_at=t(behaviour), agency=agency, **extra)


def test_reported_exactly_one_month_after_the_behaviour_qualifies() -> None:
    """10 Jan 10:00 behaviour, reported 10 Feb 10:00: within one calendar month."""
    c = complaint("2024-02-10T10:00:00+00:00", "2024-01-10T10:00:00+00:00")
    assert qualifying_complaints([c], t("2024-03-01T09:00:00+00:00"), LONDON) == [0]


def test_reported_one_month_and_one_day_after_the_behaviour_does_not_qualify() -> None:
    """10 Jan behaviour, reported 11 Feb: a day past the month."""
    c = complaint("2024-02-11T10:00:00+00:00", "2024-01-10T10:00:00+00:00")
    assert qualifying_complaints([c], t("2024-03-01T09:00:00+00:00"), LONDON) == []


def test_a_month_from_31_january_ends_on_29_february() -> None:
    """Calendar months clamp to the month's end: 31 Jan 2024 + 1 month is 29 Feb 2024."""
    behaviour = "2024-01-31T12:00:00+00:00"
    on_time = complaint("2024-02-29T12:00:00+00:00", behaviour)
    late = complaint("2024-03-01T12:00:00+00:00", behaviour)
    assert qualifying_complaints([on_time, late], t("2024-03-02T09:00:00+00:00"), LONDON) == [0]


@given(
    wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
    months=st.integers(-400, 400),
)
def test_month_arithmetic_agrees_with_relativedelta(wall: datetime, months: int) -> None:
    """Whole months on the wall clock land where dateutil's relativedelta lands."""
    assert plus_months(wall, months) == wall + relativedelta(months=months)


def test_a_report_before_the_behaviour_does_not_qualify() -> None:
    """behaviour_at <= reported_at: a report dated before the behaviour cannot count."""
    c = complaint("2024-01-09T10:00:00+00:00", "2024-01-10T10:00:00+00:00")
    assert qualifying_complaints([c], t("2024-02-01T09:00:00+00:00"), LONDON) == []


def test_application_exactly_six_months_after_the_complaint_qualifies_across_dst() -> None:
    """Reported 10 Feb 10:00 GMT; six months later is 10 Aug 10:00 BST (09:00 UTC)."""
    c = complaint("2024-02-10T10:00:00+00:00", "2024-02-09T10:00:00+00:00")
    assert qualifying_complaints([c], t("2024-08-10T10:00:00+01:00"), LONDON) == [0]
    assert qualifying_complaints([c], t("2024-08-10T10:00:01+01:00"), LONDON) == []


def test_application_six_months_and_one_day_after_the_complaint_does_not_qualify() -> None:
    """Reported 10 Feb, applied 11 Aug: a day past six months."""
    c = complaint("2024-02-10T10:00:00+00:00", "2024-02-09T10:00:00+00:00")
    assert qualifying_complaints([c], t("2024-08-11T10:00:00+01:00"), LONDON) == []


def test_the_same_incident_reported_to_police_and_council_counts_once() -> None:
    """Two reports naming incident 'i1' count as one; an unnamed report counts alone."""
    behaviour = "2024-02-01T20:00:00+00:00"
    complaints = [
        complaint("2024-02-01T21:00:00+00:00", behaviour, "police", incident="i1"),
        complaint("2024-02-02T09:00:00+00:00", behaviour, "council", incident="i1"),
        complaint("2024-02-03T09:00:00+00:00", "2024-02-03T08:00:00+00:00", "council"),
    ]
    assert qualifying_complaints(complaints, t("2024-03-01T09:00:00+00:00"), LONDON) == [0, 2]


def _request(complaints: list[Complaint]) -> ReviewEvent:
    event = CaseReviewRequested(
        event_id="r1",
        case_id="C1",
        at=t("2024-03-01T09:00:00+00:00"),
        applicant="victim",
        complaints=tuple(complaints),
    )
    return ReviewEvent(event, None)


def test_a_not_met_decision_is_refused_naming_the_qualifying_complaints() -> None:
    """Three qualifying complaints make 'met' a duty; the one that does not qualify is
    left out of the message."""
    behaviour = "2024-02-01T20:00:00+00:00"
    request = _request(
        [
            complaint("2024-02-01T21:00:00+00:00", behaviour, "police"),
            complaint("2024-02-10T09:00:00+00:00", behaviour, "council"),  # 9 days: counts
            complaint("2024-02-20T09:00:00+00:00", "2024-01-01T09:00:00+00:00", "housing"),
            complaint("2024-02-21T09:00:00+00:00", "2024-02-20T09:00:00+00:00", "housing"),
        ]
    )
    decision = ThresholdDecided(
        event_id="d1", case_id="C1", at=t("2024-03-05T09:00:00+00:00"), met=False, reason="x"
    )
    found = review_problems("C1", "asb", [request, ReviewEvent(decision, 2)], SETTINGS)
    assert found == [
        (
            2,
            "d1",
            Problem(
                "met",
                "the threshold is met, so the decision must be 'met': application 'r1' has 3 "
                "qualifying complaints (the threshold is 3): complaint 1 (reported 2024-02-01 "
                "to police); complaint 2 (reported 2024-02-10 to council); complaint 4 "
                "(reported 2024-02-21 to housing)",
            ),
        )
    ]
    allowed = ThresholdDecided(
        event_id="d2", case_id="C1", at=t("2024-03-05T09:00:00+00:00"), met=True, reason="x"
    )
    assert review_problems("C1", "asb", [request, ReviewEvent(allowed, 2)], SETTINGS) == []


def test_a_decision_before_any_application_is_refused() -> None:
    """The decision's at comes before the only request: no application to decide on."""
    decision = ThresholdDecided(
        event_id="d1", case_id="C1", at=t("2024-02-05T09:00:00+00:00"), met=True, reason="x"
    )
    request = _request([complaint("2024-02-01T21:00:00+00:00", "2024-02-01T20:00:00+00:00")])
    found = review_problems("C1", "asb", [ReviewEvent(decision, 1), request], SETTINGS)
    assert len(found) == 1
    assert found[0][2].path == "at"
    assert found[0][2].words.startswith("a threshold decision needs an application first")


def test_review_problems_refuse_events_on_a_domestic_abuse_case(config: Config) -> None:
    """Every new case review event on a DA case is refused, old ones are not re-judged."""
    validator = config.validator()
    held = validator.validate(ev("case_review_held", "D1", "2024-03-01T09:00:00+00:00")).event
    found = review_problems("D1", "domestic_abuse", [ReviewEvent(held, 4)], SETTINGS)
    assert found == [
        (
            4,
            held.event_id,
            Problem(
                "case_id",
                "case 'D1' is a domestic abuse case: the ASB case review (case_review_held) "
                "applies to ASB cases only",
            ),
        )
    ]


def test_recommendation_id_problems_name_their_field(config: Config) -> None:
    """An id made twice on the case names `recommendations`; completing an unknown id, `id`."""
    validator = config.validator()
    rec = {"id": "r1", "agency": "council", "action": "fence", "due": "2024-04-01"}
    at = "2024-03-01T09:00:00+00:00"
    made = validator.validate(ev("recommendations_made", "C1", at, "m1", recommendations=[rec]))
    again = validator.validate(ev("recommendations_made", "C1", at, "m2", recommendations=[rec]))
    done = validator.validate(ev("recommendation_completed", "C1", at, "c1", id="r9"))
    found = review_problems(
        "C1",
        "asb",
        [ReviewEvent(made.event, None), ReviewEvent(again.event, 2), ReviewEvent(done.event, 3)],
        SETTINGS,
    )
    assert [(line, problem.path) for line, _, problem in found] == [
        (2, "recommendations"),
        (3, "id"),
    ]
    assert found[0][2].words == (
        "recommendation id 'r1' is already used on case 'C1' (by event 'm1'); "
        "give each recommendation its own id"
    )


def test_settings_threshold_defaults_to_three_and_may_be_lower() -> None:
    """No setting means the Act's three; 1 and 2 are allowed."""
    assert case_review_settings_from_mapping(None, "settings.yaml", LONDON).threshold == 3
    assert case_review_settings_from_mapping({"threshold": 2}, "s", LONDON).threshold == 2


@pytest.mark.parametrize("bad", [4, 0, "3", True, 2.5])
def test_settings_threshold_above_three_or_not_a_number_is_refused(bad: Any) -> None:
    """A procedure may not ask for more than three qualifying complaints."""
    with pytest.raises(CaseReviewConfigError, match="from 1 to 3"):
        case_review_settings_from_mapping({"threshold": bad}, "settings.yaml", LONDON)


# -- line checks -------------------------------------------------------------------------

AT = "2024-03-01T09:00:00+00:00"


def refused(validator: EventValidator, line: dict[str, Any]) -> str:
    with pytest.raises(RejectedEventError) as caught:
        validator.validate(line)
    return str(caught.value)


def test_a_complaint_dated_after_the_application_is_refused(config: Config) -> None:
    """reported_at after the request's at is named with its index."""
    line = ev(
        "case_review_requested",
        "C1",
        AT,
        applicant="victim",
        complaints=[
            {
                "reported_at": "2024-03-02T09:00:00+00:00",
                "behaviour_at": "2024-02-28T09:00:00+00:00",
                "agency": "police",
            }
        ],
    )
    message = refused(config.validator(), line)
    assert "complaints[1]: 'reported_at' 2024-03-02T09:00:00+00:00 is after the application" in (
        message
    )


def test_a_request_needs_complaints_with_offset_timestamps(config: Config) -> None:
    """An empty list, a naive timestamp and a missing agency are each named."""
    validator = config.validator()
    assert "'complaints' must be a non-empty list" in refused(
        validator, ev("case_review_requested", "C1", AT, applicant="victim", complaints=[])
    )
    message = refused(
        validator,
        ev(
            "case_review_requested",
            "C1",
            AT,
            applicant="neighbour",
            complaints=[{"reported_at": "2024-02-01T09:00:00", "behaviour_at": AT}],
        ),
    )
    assert "'applicant' must be one of 'victim', 'representative', 'business'" in message
    assert "complaints[1]: 'agency' is missing" in message
    assert "complaints[1]: 'reported_at' '2024-02-01T09:00:00' has no UTC offset" in message


def test_a_recommendation_without_an_owner_or_due_date_is_refused(config: Config) -> None:
    """agency and due are required; due is a date; ids are unique within the event."""
    message = refused(
        config.validator(),
        ev(
            "recommendations_made",
            "C1",
            AT,
            recommendations=[
                {"id": "r1", "action": "patrols"},
                {"id": "r1", "agency": "police", "action": "x", "due": "next week"},
            ],
        ),
    )
    assert "recommendations[1]: 'agency' is missing" in message
    assert "recommendations[1]: 'due' is missing" in message
    assert "recommendations[2]: 'due' must be a date (YYYY-MM-DD), not 'next week'" in message
    assert "recommendations[2]: id 'r1' is already used by recommendations[1]" in message


def test_decisions_and_appeals_need_their_fields(config: Config) -> None:
    """met/upheld are booleans and a reason is required; the stage is one of three."""
    validator = config.validator()
    assert "'met' is missing (true or false)" in refused(
        validator, ev("threshold_decided", "C1", AT, reason="r")
    )
    assert "'reason' is missing" in refused(validator, ev("threshold_decided", "C1", AT, met=True))
    assert "'upheld' must be true or false" in refused(
        validator, ev("appeal_decided", "C1", AT, upheld="yes", reason="r")
    )
    assert "'stage' must be one of 'acknowledged', 'decision', 'outcome'" in refused(
        validator, ev("applicant_informed", "C1", AT, stage="told")
    )


def test_an_empty_recommendation_list_is_accepted(config: Config) -> None:
    """A review may make no recommendations."""
    event = config.validator().validate(ev("recommendations_made", "C1", AT, recommendations=[]))
    assert event.event.TYPE == "recommendations_made"


def test_the_threshold_is_read_from_settings_or_its_own_file(tmp_path: Any) -> None:
    """settings.yaml's case_review section, or case_review.yaml; 4 is refused naming it."""
    (tmp_path / "settings.yaml").write_text(
        "timezone: Europe/London\ncase_review: {threshold: 2}\n"
    )
    assert load_config(str(tmp_path)).case_review.threshold == 2
    (tmp_path / "settings.yaml").write_text("timezone: Europe/London\n")
    (tmp_path / "case_review.yaml").write_text("threshold: 1\n")
    assert load_config(str(tmp_path)).case_review.threshold == 1
    (tmp_path / "case_review.yaml").write_text("threshold: 4\n")
    with pytest.raises(ConfigError, match=r"case_review\.yaml: case_review\.threshold"):
        load_config(str(tmp_path))
