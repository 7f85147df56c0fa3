"""Page forms become contract events: shapes only, the validator judges the values."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from casewatch.service.config import load_config
from casewatch.service.forms import (
    FormError,
    asb_event,
    case_review_event,
    dash_event,
    opening_event,
    recorded_event,
)

LONDON = ZoneInfo("Europe/London")
MATRICES = load_config(None).matrices


def test_a_dash_form_gives_24_answers_by_id_and_the_judgement() -> None:
    """Ticked boxes are yes, the rest no; police call-outs a number; local time, offset."""
    form = {"injury": "on", "criminal_history": "on", "police_incidents_12m": "3",
            "judgement_level": "high", "judgement_reason": "threats", "at": "2015-07-01T09:30"}  # fmt: skip
    event = dash_event(form, MATRICES, LONDON)
    assert event["answers"]["injury"] is True
    assert event["answers"]["criminal_history"] is True
    assert sum(event["answers"].values()) == 2
    assert len(event["answers"]) == 24
    assert event["police_incidents_12m"] == 3
    assert event["professional_judgement"] == {"level": "high", "reason": "threats"}
    assert event["at"] == "2015-07-01T09:30:00+01:00"


def test_a_form_without_judgement_or_time_leaves_them_out() -> None:
    """Empty fields are absent, so the server fills `at` with now."""
    event = asb_event({"p1": "on"}, MATRICES, LONDON)
    assert "at" not in event
    assert "professional_judgement" not in event
    assert event["answers"]["p1"] is True
    assert set(event["answers"]) == set(MATRICES.asb.questions)


def test_text_where_a_number_belongs_is_passed_on_for_the_validator_to_word() -> None:
    """'three' is not turned into a number nor dropped."""
    event = dash_event({"police_incidents_12m": "three"}, MATRICES, LONDON)
    assert event["police_incidents_12m"] == "three"


@pytest.mark.parametrize(
    ("kind", "form", "expected"),
    [
        ("case_conference_held", {"agencies": "police, housing ,"}, {"agencies": ["police", "housing"]}),
        ("partner_actions_agreed", {"agency": "police", "action": "patrol", "due": "2015-07-08"},
         {"actions": [{"agency": "police", "action": "patrol", "due": "2015-07-08"}]}),
        ("contact_attempted", {"method": "visit"}, {"method": "visit"}),
        ("referral_made", {"to": "marac"}, {"to": "marac"}),
        ("sla_paused", {"policy": "p", "reason": "in hospital"}, {"policy": "p", "reason": "in hospital"}),
        ("case_closed", {"close_outcome": "resolved"}, {"outcome": "resolved"}),
        ("incident_reported", {"category": "noise", "police_attended": "on"},
         {"category": "noise", "police_attended": True}),
        ("idva_contact_made", {}, {}),
    ],
)  # fmt: skip
def test_each_recordable_event(
    kind: str, form: dict[str, str], expected: dict[str, object]
) -> None:
    """Each kind of the record form gives its contract fields and nothing else."""
    assert recorded_event(kind, form, LONDON) == {"type": kind} | expected


def test_unknown_kinds_and_unreadable_times_are_form_errors() -> None:
    """Nothing is guessed: the page shows the field at fault."""
    with pytest.raises(FormError) as unknown:
        recorded_event("case_opened", {}, LONDON)
    assert unknown.value.field == "type"
    with pytest.raises(FormError) as bad_time:
        recorded_event("idva_contact_made", {"at": "yesterday"}, LONDON)
    assert bad_time.value.field == "at"


def test_an_opening_form_keeps_victim_details_together() -> None:
    """Victim fields become the personal-data object; blanks are dropped."""
    event = opening_event(
        {"case_type": "asb", "team": "north", "victim_name": "A B", "victim_phone": ""}, LONDON
    )
    assert event == {"case_type": "asb", "team": "north", "victim": {"name": "A B"}}


def test_an_application_form_gives_its_filled_complaint_rows_with_offsets() -> None:
    """Empty rows are dropped; local times get the London offset of their date."""
    form = {
        "applicant": "victim",
        "at": "2015-03-20T10:00",
        "complaint-1-behaviour_at": "2015-02-01T21:00",
        "complaint-1-reported_at": "2015-02-02T09:00",
        "complaint-1-agency": "police",
        "complaint-3-behaviour_at": "2015-03-29T21:00",
        "complaint-3-reported_at": "2015-03-30T09:00",
        "complaint-3-agency": "council",
        "complaint-3-incident": "i1",
    }
    event = case_review_event("case_review_requested", form, LONDON)
    assert event == {
        "type": "case_review_requested",
        "at": "2015-03-20T10:00:00+00:00",
        "applicant": "victim",
        "complaints": [
            {
                "behaviour_at": "2015-02-01T21:00:00+00:00",
                "reported_at": "2015-02-02T09:00:00+00:00",
                "agency": "police",
            },
            {
                "behaviour_at": "2015-03-29T21:00:00+01:00",
                "reported_at": "2015-03-30T09:00:00+01:00",
                "agency": "council",
                "incident": "i1",
            },
        ],
    }


def test_decision_and_recommendation_forms() -> None:
    """Yes/no radios become booleans; recommendation rows keep their four fields."""
    decision = case_review_event("threshold_decided", {"met": "no", "reason": "r"}, LONDON)
    assert decision == {"type": "threshold_decided", "met": False, "reason": "r"}
    made = case_review_event(
        "recommendations_made",
        {"recommendation-1-id": "R1", "recommendation-1-agency": "police",
         "recommendation-1-action": "patrols", "recommendation-1-due": "2015-05-01"},
        LONDON,
    )  # fmt: skip
    assert made["recommendations"] == [
        {"id": "R1", "agency": "police", "action": "patrols", "due": "2015-05-01"}
    ]
    with pytest.raises(FormError):
        case_review_event("case_opened", {}, LONDON)
