"""The shared vocabulary: names and values in a caseworker's words, and spans of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from casewatch.cases.wording import case_type_words, due_in, late_by, span, value_words, words
from casewatch.notifications.messages import render_alert


def test_event_names_read_as_words_with_acronyms_in_capitals() -> None:
    """The issue's examples: no "Sla paused", no "Idva contact made"."""
    assert words("sla_paused") == "SLA paused"
    assert words("idva_contact_made") == "IDVA contact made"
    assert words("referral_made") == "Referral made"
    assert words("police_incidents_12m") == "Police call-outs in the last 12 months"
    assert words("escalation-1") == "Escalation 1"
    assert words("marac") == "MARAC"
    assert words("repeat-marac") == "Repeat MARAC"  # flag names too


def test_values_read_as_yes_no_and_words() -> None:
    """Booleans are yes/no; machine names become words; free text stays as typed."""
    assert value_words(False) == "no"
    assert value_words(True) == "yes"
    assert value_words("domestic_abuse") == "Domestic abuse"
    assert value_words("marac") == "MARAC"
    assert value_words(["police", "housing"]) == "police, housing"
    assert value_words("no answer") == "no answer"
    assert value_words(2) == "2"
    assert value_words({"level": "high", "reason": "threats"}) == "Level: high; Reason: threats"
    assert case_type_words("asb") == "Anti-social behaviour"


def test_spans_use_the_two_largest_units() -> None:
    """3 days 4 hours 5 minutes reads "3 days 4 hours"; one of a unit is singular."""
    assert span(timedelta(days=3, hours=4, minutes=5)) == "3 days 4 hours"
    assert span(timedelta(days=1)) == "1 day"
    assert span(timedelta(hours=1, minutes=1)) == "1 hour 1 minute"
    assert span(timedelta(seconds=30)) == "under a minute"
    assert late_by(timedelta(days=3)) == "3 days late"
    assert due_in(timedelta(hours=5)) == "due in 5 hours"
    assert due_in(timedelta(hours=-5)) == "5 hours late"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=30))
def test_words_never_show_an_underscore(name: str) -> None:
    """Whatever the machine name, what people read has no underscores in it."""
    assert "_" not in words(name)


def test_alert_messages_say_times_and_roles_in_the_same_words() -> None:
    """A breach 1 day 2 hours after its due time, to the team manager, reads so."""
    due = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    message = render_alert(
        case_id="DA-0001",
        team="da-idva",
        policy_title="High-risk DA victims: IDVA contact within 1 working day",
        cycle=1,
        level="breach",
        started_at=due - timedelta(days=1),
        due_at=due,
        at=due + timedelta(days=1, hours=2),
        recipient="team_manager",
        link_base_url="http://casewatch.example",
        tz=ZoneInfo("Europe/London"),
    )
    assert "Overdue by: 1 day 2 hours" in message.text
    assert "You receive this as team manager of da-idva." in message.text
