"""durable-rules and the reference evaluator agree on every generated event stream."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casewatch.cases.state import LinkedEvent
from casewatch.engine.derive import derive
from casewatch.engine.evaluators import (
    CANARY,
    DurableEvaluator,
    ReferenceEvaluator,
    RuleEvaluationError,
    _check_canary,
)
from casewatch.service.config import Config
from tests.builders import ev, needs_durable

pytestmark = needs_durable

LONDON = ZoneInfo("Europe/London")
POLICIES = [
    "asb-high-risk-conference",
    "asb-high-risk-reduction",
    "da-high-risk-idva-contact",
    "da-high-risk-marac-referral",
    "asb-review-acknowledgement",
    "asb-review-decision",
    "asb-review-meeting",
    "asb-review-outcome",
]
_COMPLAINT = {
    "reported_at": "2014-02-01T10:00:00+00:00",
    "behaviour_at": "2014-02-01T09:00:00+00:00",
    "agency": "police",
}

_step = st.one_of(
    st.builds(
        lambda level: ("risk_assessed", {"matrix": "asb", "level": level}),
        st.sampled_from(["low", "medium", "high"]),
    ),
    st.builds(
        lambda yes, police: (
            "risk_assessed",
            {
                "matrix": "dash",
                "answers": [True] * yes + [False] * (24 - yes),
                "police_incidents_12m": police,
            },
        ),
        st.integers(0, 24),
        st.integers(0, 4),
    ),
    st.builds(lambda c: ("incident_reported", {"category": c}), st.sampled_from(["noise", "hate"])),
    st.just(("case_conference_held", {})),
    st.just(("partner_actions_agreed", {"actions": []})),
    st.builds(lambda to: ("referral_made", {"to": to}), st.sampled_from(["marac", "idva", "mash"])),
    st.just(("idva_contact_made", {})),
    st.builds(lambda m: ("contact_attempted", {"method": m}), st.sampled_from(["call", "visit"])),
    st.builds(
        lambda kind, policy: (kind, {"policy": policy, "reason": "r"}),
        st.sampled_from(["sla_paused", "sla_resumed", "sla_excluded", "breach_explained"]),
        st.sampled_from(POLICIES),
    ),
    st.just(("case_closed", {})),
    st.just(("case_reopened", {})),
    st.just(("case_review_requested", {"applicant": "victim", "complaints": [_COMPLAINT]})),
    st.builds(
        lambda stage: ("applicant_informed", {"stage": stage}),
        st.sampled_from(["acknowledged", "decision", "outcome"]),
    ),
    st.builds(lambda met: ("threshold_decided", {"met": met, "reason": "r"}), st.booleans()),
    st.just(("case_review_held", {})),
)
_CASE_REVIEW = {"case_review_requested", "applicant_informed", "threshold_decided"}


@settings(max_examples=300, deadline=None)
@given(
    case_type=st.sampled_from(["asb", "domestic_abuse"]),
    steps=st.lists(st.tuples(_step, st.integers(1, 60 * 24 * 20)), max_size=25),
)
def test_evaluators_agree(
    config: Config, case_type: str, steps: list[tuple[tuple[str, dict[str, Any]], int]]
) -> None:
    """Same stream, same rules fired in the same order, same cycles and flags."""
    validator = config.validator()
    at = datetime(2014, 3, 1, 9, 0, tzinfo=LONDON)
    lines = [ev("case_opened", "C1", at.isoformat(), case_type=case_type)]
    for (event_type, fields), gap in steps:
        at += timedelta(minutes=gap)
        if "policy" in fields and not config.policies[fields["policy"]].applies_to(case_type):
            continue
        if case_type != "asb" and event_type in {*_CASE_REVIEW, "case_review_held"}:
            continue  # the importer refuses case review events on a DA case
        lines.append(ev(event_type, "C1", at.isoformat(), **fields))
    events = [validator.validate(line).event for line in lines]
    results = [
        derive("C1", events, config.rules, evaluator, config.calendar)
        for evaluator in (DurableEvaluator(config.rules), ReferenceEvaluator(config.rules))
    ]
    assert results[0] == results[1]


_linked_step = st.one_of(
    st.builds(lambda c: ("incident_reported", {"category": c}), st.just("noise")),
    st.builds(lambda to: ("referral_made", {"to": to}), st.sampled_from(["marac", "idva"])),
)


@settings(max_examples=150, deadline=None)
@given(
    case_type=st.sampled_from(["asb", "domestic_abuse"]),
    steps=st.lists(st.tuples(_step, st.integers(1, 60 * 24 * 20)), max_size=15),
    others=st.lists(
        st.tuples(
            _linked_step, st.sampled_from(["asb", "domestic_abuse"]), st.integers(0, 60 * 24 * 60)
        ),
        max_size=10,
    ),
)
def test_evaluators_agree_across_linked_cases(
    config: Config,
    case_type: str,
    steps: list[tuple[tuple[str, dict[str, Any]], int]],
    others: list[tuple[tuple[str, dict[str, Any]], str, int]],
) -> None:
    """With a linked case's incidents and referrals as input, both evaluators still agree."""
    validator = config.validator()
    start = datetime(2014, 3, 1, 9, 0, tzinfo=LONDON)
    at = start
    lines = [ev("case_opened", "C1", at.isoformat(), case_type=case_type)]
    for (event_type, fields), gap in steps:
        at += timedelta(minutes=gap)
        if "policy" in fields and not config.policies[fields["policy"]].applies_to(case_type):
            continue
        lines.append(ev(event_type, "C1", at.isoformat(), **fields))
    events = [validator.validate(line).event for line in lines]
    linked = sorted(
        (
            LinkedEvent(
                validator.validate(
                    ev(kind, "C2", (start + timedelta(minutes=offset)).isoformat(), **fields)
                ).event,
                other_type,
            )
            for (kind, fields), other_type, offset in others
        ),
        key=lambda e: e.event.at,
    )
    results = [
        derive("C1", events, config.rules, evaluator, config.calendar, linked=linked)
        for evaluator in (DurableEvaluator(config.rules), ReferenceEvaluator(config.rules))
    ]
    assert results[0] == results[1]


def test_durable_matching_leaves_no_fact_in_its_session(config: Config) -> None:
    """Every snapshot asserted, matched or not, is retracted: nothing carries over."""
    evaluator = DurableEvaluator(config.rules)
    snapshots = [
        {**_snapshot("risk_assessed"), "risk_before": 1, "risk_after": 2},
        _snapshot("contact_attempted"),
        _snapshot("case_closed"),
    ]
    reference = ReferenceEvaluator(config.rules)
    assert [evaluator.matching(s) for s in snapshots] == [reference.matching(s) for s in snapshots]
    assert any(reference.matching(s) for s in snapshots)
    assert DurableEvaluator._host.get_facts(evaluator.name, "0") == []


def test_a_snapshot_durable_refuses_is_an_error(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fact the core will not take (here: one it holds already) is raised, not read as
    matching nothing, and the session is clean afterwards."""
    evaluator = DurableEvaluator(config.rules)
    monkeypatch.setattr(DurableEvaluator, "_sequence", itertools.repeat(7))
    snapshot = _snapshot("case_closed")
    DurableEvaluator._host.assert_fact(evaluator.name, {**snapshot, "casewatch_seq": 7})
    with pytest.raises(RuleEvaluationError, match="refused a snapshot"):
        evaluator.matching(snapshot)
    assert DurableEvaluator._host.get_facts(evaluator.name, "0") == []
    assert evaluator.matching(snapshot) == ReferenceEvaluator(config.rules).matching(snapshot)


def test_durable_answers_a_repeated_snapshot_from_memory(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An equal snapshot is answered as durable first answered it, without asking it
    again, and at most REMEMBERED answers are kept."""
    monkeypatch.setattr(DurableEvaluator, "REMEMBERED", 2)
    evaluator = DurableEvaluator(config.rules)
    risk = {**_snapshot("risk_assessed"), "risk_before": 1, "risk_after": 2}
    first = evaluator.matching(risk)
    assert first and evaluator.asked == 1
    first.clear()  # the caller's list, not the one remembered
    assert evaluator.matching(dict(risk)) == ReferenceEvaluator(config.rules).matching(risk)
    assert evaluator.asked == 1
    for event_type in ("case_closed", "case_closed", "contact_attempted"):
        evaluator.matching(_snapshot(event_type))
    assert evaluator.asked == 3
    assert len(evaluator._answers) <= 2


def _snapshot(event_type: str) -> dict[str, Any]:
    """A snapshot of an ASB case's event with every fact the rules read at its default."""
    return {
        "type": event_type,
        "case_type": "asb",
        "linked": 0,
        "source_case_type": "asb",
        "risk_before": -1,
        "risk_after": -1,
        "case_status": "open",
        "referral_to": "",
        "contact_method": "call" if event_type == "contact_attempted" else "",
        "incident_category": "",
        "matrix": "asb" if event_type == "risk_assessed" else "",
        "police_incidents_12m": 0,
        "informed_stage": "",
        "threshold_met": 0,
        "potential_escalation": 0,
    }


def test_the_durable_start_up_check_passes_on_a_working_core(config: Config) -> None:
    """A host that matches as it must passes the canary, and every new host runs it."""
    DurableEvaluator(config.rules)
    DurableEvaluator._host.get_ruleset(CANARY)  # registered when the host was built
    _check_canary(DurableEvaluator._host, name=f"casewatch_test_{uuid.uuid4().hex[:8]}")


def test_a_durable_core_that_silently_matches_nothing_is_refused(config: Config) -> None:
    """A core that swallows its own error and matches nothing is refused in words,
    before any case could be derived with no cycles."""
    DurableEvaluator(config.rules)

    def nothing(_handle: Any, _index: Any, _snapshot: Any, _sequence: int) -> list[int]:
        """What durable did on 3.12 under warnings-as-errors: no match, no error."""
        return []

    with pytest.raises(RuleEvaluationError, match="choose the matcher 'reference'"):
        _check_canary(
            DurableEvaluator._host, name=f"casewatch_test_{uuid.uuid4().hex[:8]}", matches=nothing
        )
