"""Contract section 3 as scenarios: cycles and flags derived from a case's events.

Every scenario runs on both evaluators (durable-rules and the reference)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from casewatch.cases.events import Event
from casewatch.engine.cycles import Cycle
from casewatch.engine.derive import Derivation, derive
from casewatch.engine.evaluators import make_evaluator
from casewatch.service.config import Config
from tests.builders import DASH_HIGH, assessed, ev, needs_durable, opened

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(params=[pytest.param("durable", marks=needs_durable), "reference"])
def run(request: pytest.FixtureRequest, config: Config) -> Any:
    evaluator = make_evaluator(request.param, config.rules)
    validator = config.validator()

    def replay(*lines: dict[str, Any]) -> Derivation:
        events: list[Event] = [validator.validate(line).event for line in lines]
        events.sort(key=lambda e: e.at)  # stable: ties keep their order, like import order
        return derive("C1", events, config.rules, evaluator, config.calendar)

    return replay


def t(text: str) -> str:
    """A London wall-clock time as an event timestamp with its offset."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).isoformat()


def local(moment: datetime | None) -> str | None:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") if moment else None


def cycles_of(derivation: Derivation, policy: str) -> list[Cycle]:
    return [c for c in derivation.cycles if c.policy == policy]


def only(derivation: Derivation, policy: str) -> Cycle:
    [cycle] = cycles_of(derivation, policy)
    return cycle


CONF, REDUCE = "asb-high-risk-conference", "asb-high-risk-reduction"
IDVA, MARAC = "da-high-risk-idva-contact", "da-high-risk-marac-referral"
AT_END = datetime(2030, 1, 1, tzinfo=UTC)


def asb_high(at: str = "2014-05-06T10:30") -> Iterator[dict[str, Any]]:
    yield opened("C1", t("2014-05-01T09:00"))
    yield assessed("C1", t(at), "high")


def test_high_risk_starts_both_asb_cycles(run: Any) -> None:
    """Risk becoming high from no assessment starts the conference and reduction cycles."""
    d = run(*asb_high())
    conference, reduction = only(d, CONF), only(d, REDUCE)
    assert (local(conference.started_at), local(conference.due_at)) == (
        "2014-05-06 10:30",
        "2014-05-11 10:30",
    )
    assert local(reduction.due_at) == "2014-05-13 10:30"
    assert local(conference.warn_at) == "2014-05-10 10:30"  # 80% of 5 days
    assert conference.state == "running" and conference.outcome is None


def test_conference_on_time_is_met(run: Any) -> None:
    """The first conference before the due time meets the conference target only."""
    d = run(*asb_high(), ev("case_conference_held", "C1", t("2014-05-09T14:00")))
    assert (only(d, CONF).outcome, only(d, CONF).state) == ("met", "stopped")
    assert only(d, REDUCE).state == "running"


def test_partner_actions_also_meet_the_conference_target(run: Any) -> None:
    """Agreed partner actions count as the conference."""
    d = run(*asb_high(), ev("partner_actions_agreed", "C1", t("2014-05-07T10:00"), actions=[]))
    assert only(d, CONF).outcome == "met"


def test_stop_exactly_at_due_is_met_and_after_is_breached(run: Any) -> None:
    """A stop at exactly the due time is met; one minute later is breached."""
    on_time = run(*asb_high(), ev("case_conference_held", "C1", t("2014-05-11T10:30")))
    late = run(*asb_high(), ev("case_conference_held", "C1", t("2014-05-11T10:31")))
    assert only(on_time, CONF).outcome == "met"
    assert only(late, CONF).outcome == "breached"


def test_running_cycle_is_breached_once_past_due(run: Any) -> None:
    """A cycle still running after its due time is breached as of then, undecided before."""
    cycle = only(run(*asb_high()), CONF)
    assert cycle.outcome_at(cycle.due_at) is None
    assert cycle.outcome_at(datetime(2014, 5, 11, 9, 31, tzinfo=UTC)) == "breached"


def test_fall_in_risk_stops_only_the_reduction_cycle(run: Any) -> None:
    """A later assessment below high meets the reduction target; the conference keeps running."""
    d = run(*asb_high(), assessed("C1", t("2014-05-08T10:00"), "medium"))
    assert only(d, REDUCE).outcome == "met"
    assert only(d, CONF).state == "running"


def test_events_before_the_start_do_not_stop_it(run: Any) -> None:
    """A conference held before the victim became high risk does not meet the new target."""
    d = run(
        opened("C1", t("2014-05-01T09:00")),
        ev("case_conference_held", "C1", t("2014-05-02T09:00")),
        assessed("C1", t("2014-05-06T10:30"), "high"),
    )
    assert only(d, CONF).state == "running"


def test_no_second_cycle_while_one_is_open(run: Any) -> None:
    """High again while a cycle runs starts nothing; high again after it fell starts cycle 2."""
    d = run(
        *asb_high(),
        assessed("C1", t("2014-05-07T10:00"), "high"),
        assessed("C1", t("2014-05-08T10:00"), "medium"),
        assessed("C1", t("2014-05-20T10:00"), "high"),
    )
    reductions = cycles_of(d, REDUCE)
    assert [(c.number, c.outcome) for c in reductions] == [(1, "met"), (2, None)]
    assert len(cycles_of(d, CONF)) == 1  # the first conference cycle never stopped


def test_closing_cancels_cycles_not_yet_due(run: Any) -> None:
    """Closing cancels open cycles that are not yet due."""
    d = run(*asb_high(), ev("case_closed", "C1", t("2014-05-08T10:00")))
    assert {c.outcome for c in d.cycles} == {"cancelled"}


def test_closing_an_overdue_cycle_breaches_it(run: Any) -> None:
    """An overdue running cycle stops breached at the close; one not yet due is cancelled."""
    d = run(*asb_high(), ev("case_closed", "C1", t("2014-05-12T10:00")))
    assert (only(d, CONF).outcome, only(d, REDUCE).outcome) == ("breached", "cancelled")
    assert local(only(d, CONF).stopped_at) == "2014-05-12 10:00"


def test_no_cycle_starts_on_a_closed_case(run: Any) -> None:
    """A high assessment recorded on a closed case starts nothing."""
    d = run(
        opened("C1", t("2014-05-01T09:00")),
        ev("case_closed", "C1", t("2014-05-02T09:00")),
        assessed("C1", t("2014-05-06T10:30"), "high"),
    )
    assert d.cycles == ()


def test_reopening_makes_the_next_assessment_a_first_one(run: Any) -> None:
    """After case_reopened a high assessment starts new cycles even if the level was high."""
    d = run(
        *asb_high(),
        ev("case_closed", "C1", t("2014-05-08T10:00")),
        ev("case_reopened", "C1", t("2014-06-01T10:00")),
        assessed("C1", t("2014-06-02T10:00"), "high"),
    )
    assert [c.outcome for c in cycles_of(d, CONF)] == ["cancelled", None]


def test_pause_moves_a_calendar_due_time_by_the_elapsed_pause(run: Any) -> None:
    """Two days paused move a calendar-day due time by two days; the paused cycle gets no outcome."""
    pause = ev("sla_paused", "C1", t("2014-05-07T10:30"), policy=CONF, reason="victim in hospital")
    paused = only(run(*asb_high(), pause), CONF)
    assert paused.state == "paused"
    assert paused.outcome_at(AT_END) is None
    resumed = run(
        *asb_high(),
        pause,
        ev("sla_resumed", "C1", t("2014-05-09T10:30"), policy=CONF, reason="home"),
    )
    assert local(only(resumed, CONF).due_at) == "2014-05-13 10:30"
    assert only(resumed, REDUCE).due_at == only(run(*asb_high()), REDUCE).due_at


def test_pause_after_the_due_time_changes_nothing(run: Any) -> None:
    """A pause that starts after the due time leaves the cycle running and breached."""
    d = run(*asb_high(), ev("sla_paused", "C1", t("2014-05-12T10:30"), policy=CONF, reason="late"))
    assert only(d, CONF).state == "running"
    assert only(d, CONF).outcome_at(AT_END) == "breached"


def test_instruction_with_no_cycle_changes_nothing(run: Any) -> None:
    """Resuming what is not paused, or pausing before any cycle, is kept and changes nothing."""
    d = run(
        opened("C1", t("2014-05-01T09:00")),
        ev("sla_paused", "C1", t("2014-05-02T09:00"), policy=CONF, reason="x"),
        assessed("C1", t("2014-05-06T10:30"), "high"),
        ev("sla_resumed", "C1", t("2014-05-07T09:00"), policy=CONF, reason="x"),
    )
    assert only(d, CONF).due_at == only(run(*asb_high()), CONF).due_at


def test_exclusion_after_a_breach(run: Any) -> None:
    """A PSG may exclude a cycle after it breached; the exclusion reason is kept."""
    d = run(
        *asb_high(),
        ev("case_conference_held", "C1", t("2014-05-14T10:00")),
        ev("sla_excluded", "C1", t("2014-05-20T10:00"), policy=CONF, reason="court order"),
    )
    assert (only(d, CONF).outcome, only(d, CONF).exclusion_reason) == ("excluded", "court order")


def test_exclusion_stops_a_running_cycle(run: Any) -> None:
    """Excluding a running cycle stops it."""
    d = run(
        *asb_high(), ev("sla_excluded", "C1", t("2014-05-07T10:00"), policy=REDUCE, reason="pj")
    )
    assert (only(d, REDUCE).state, only(d, REDUCE).outcome) == ("stopped", "excluded")


def test_latest_breach_explanation_wins(run: Any) -> None:
    """breach_explained sets the reason on the latest cycle; the latest explanation wins."""
    d = run(
        *asb_high(),
        ev("case_conference_held", "C1", t("2014-05-14T10:00")),
        ev("breach_explained", "C1", t("2014-05-15T10:00"), policy=CONF, reason="first"),
        ev(
            "breach_explained",
            "C1",
            t("2014-05-16T10:00"),
            policy=CONF,
            reason="criminal case ongoing",
        ),
    )
    assert only(d, CONF).breach_reason == "criminal case ongoing"


def da_high(at: str) -> Iterator[dict[str, Any]]:
    yield opened("C1", t("2014-05-01T09:00"), case_type="domestic_abuse")
    yield ev("risk_assessed", "C1", t(at), matrix="dash", answers=DASH_HIGH)


def test_da_targets_are_working_days(run: Any) -> None:
    """IDVA contact within 2 working days, MARAC referral within 1, skipping the weekend."""
    d = run(*da_high("2014-05-09T16:00"))  # a Friday
    assert local(only(d, IDVA).due_at) == "2014-05-13 16:00"
    assert local(only(d, MARAC).due_at) == "2014-05-12 16:00"


def test_da_cycles_stop_on_their_own_events(run: Any) -> None:
    """IDVA contact stops the IDVA cycle; only a referral to MARAC stops the MARAC cycle."""
    d = run(
        *da_high("2014-05-06T10:00"),
        ev("referral_made", "C1", t("2014-05-06T11:00"), to="idva"),
        ev("idva_contact_made", "C1", t("2014-05-07T11:00")),
    )
    assert only(d, IDVA).outcome == "met"
    assert only(d, MARAC).state == "running"
    d = run(
        *da_high("2014-05-06T10:00"), ev("referral_made", "C1", t("2014-05-07T11:00"), to="marac")
    )
    assert only(d, MARAC).outcome == "breached"


def test_working_day_pause_moves_due_by_working_time(run: Any) -> None:
    """A pause over a weekend moves a working-day due time by the working time paused only."""
    d = run(
        *da_high("2014-05-08T10:00"),  # Thursday; IDVA due Monday 10:00
        ev("sla_paused", "C1", t("2014-05-09T12:00"), policy=IDVA, reason="hospital"),
        ev("sla_resumed", "C1", t("2014-05-12T12:00"), policy=IDVA, reason="home"),
    )
    # Paused Friday 12:00 - Monday 12:00: 24 hours of working time.
    assert local(only(d, IDVA).due_at) == "2014-05-13 10:00"


def test_potential_escalation_makes_dash_high(run: Any) -> None:
    """Three police call-outs make a standard DASH high: cycles start and the flag is raised."""
    d = run(
        opened("C1", t("2014-05-01T09:00"), case_type="domestic_abuse"),
        ev(
            "risk_assessed",
            "C1",
            t("2014-05-06T10:00"),
            matrix="dash",
            answers=[False] * 24,
            police_incidents_12m=3,
        ),
    )
    assert {c.policy for c in d.cycles} == {IDVA, MARAC}
    assert [f.flag for f in d.flags] == ["potential-escalation"]


def incidents(*days: str) -> list[dict[str, Any]]:
    return [ev("incident_reported", "C1", t(f"{day}T12:00"), category="noise") for day in days]


def test_repeat_victim_three_incidents_in_90_days(run: Any) -> None:
    """Three incidents within 90 days raise repeat-victim, once, with the event that did it."""
    d = run(
        opened("C1", t("2014-01-01T09:00"), case_type="domestic_abuse"),
        *incidents("2014-01-10", "2014-02-10", "2014-04-09", "2014-04-20"),
    )
    [flag] = d.flags
    assert flag.flag == "repeat-victim"
    assert local(flag.raised_at) == "2014-04-09 12:00"
    assert flag.rule_id == "repeat-victim"
    spread = run(
        opened("C1", t("2014-01-01T09:00")), *incidents("2014-01-10", "2014-03-10", "2014-06-10")
    )
    assert "repeat-victim" not in [f.flag for f in spread.flags]


def test_community_trigger_three_incidents_in_six_months_on_asb(run: Any) -> None:
    """Three incidents within six calendar months on an ASB case raise community-trigger."""
    d = run(
        opened("C1", t("2014-01-01T09:00")), *incidents("2014-01-10", "2014-04-10", "2014-07-09")
    )
    assert [f.flag for f in d.flags] == ["community-trigger"]
    da = run(
        opened("C1", t("2014-01-01T09:00"), case_type="domestic_abuse"),
        *incidents("2014-01-10", "2014-04-10", "2014-07-09"),
    )
    assert da.flags == ()


def test_repeat_marac_within_12_months(run: Any) -> None:
    """A MARAC referral within 12 months of the previous one raises repeat-marac."""
    marac = [
        ev("referral_made", "C1", t(day), to="marac")
        for day in ("2014-01-10T10:00", "2014-12-10T10:00")
    ]
    d = run(opened("C1", t("2014-01-01T09:00"), case_type="domestic_abuse"), *marac)
    assert [f.flag for f in d.flags] == ["repeat-marac"]
    apart = [
        ev("referral_made", "C1", t(day), to="marac")
        for day in ("2014-01-10T10:00", "2015-01-11T10:00")
    ]
    assert run(opened("C1", t("2014-01-01T09:00"), case_type="domestic_abuse"), *apart).flags == ()
