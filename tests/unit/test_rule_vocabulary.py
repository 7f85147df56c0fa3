"""Generated rule files over the whole rule vocabulary (every fact, operator and effect,
the ones no shipped rule uses included) give identical derivations under durable-rules
and the reference matcher on generated event streams."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from casewatch.cases.events import CONTACT_METHODS, REFERRAL_TARGETS, RISK_LEVELS
from casewatch.engine.derive import derive
from casewatch.engine.evaluators import DurableEvaluator, ReferenceEvaluator
from casewatch.engine.rules import RuleSet, load_rule_files
from casewatch.engine.vocabulary import EFFECTS, FACTS, NO_LEVEL
from casewatch.service.config import Config, read_rule_texts
from tests.builders import ev, needs_durable

pytestmark = needs_durable

LONDON = ZoneInfo("Europe/London")
POLICIES_OF = {
    "asb": [
        "asb-high-risk-conference",
        "asb-high-risk-reduction",
        "asb-review-acknowledgement",
        "asb-review-decision",
        "asb-review-meeting",
        "asb-review-outcome",
    ],
    "domestic_abuse": ["da-high-risk-idva-contact", "da-high-risk-marac-referral"],
}
FLAGS = ["repeat-victim", "community-trigger", "potential-escalation", "repeat-marac", "other"]
CATEGORIES = ["noise", "hate", "harassment", "criminal_damage"]
EVENTS = [
    "case_opened", "incident_reported", "risk_assessed", "case_conference_held",
    "partner_actions_agreed", "contact_attempted", "referral_made", "idva_contact_made",
    "sla_paused", "sla_resumed", "sla_excluded", "breach_explained", "case_closed",
    "case_reopened", "case_review_requested", "applicant_informed", "threshold_decided",
    "case_review_held",
]  # fmt: skip
CASE_REVIEW = {
    "case_review_requested",
    "applicant_informed",
    "threshold_decided",
    "case_review_held",
}
COMPLAINT = {
    "reported_at": "2014-02-01T10:00:00+00:00",
    "behaviour_at": "2014-02-01T09:00:00+00:00",
    "agency": "police",
}


def _choice(values: list[str] | tuple[str, ...], operator: str) -> st.SearchStrategy[Any]:
    if operator == "in":  # mostly several values: one alone is `is` in other words
        return st.lists(st.sampled_from(values), min_size=2, max_size=3, unique=True) | st.lists(
            st.sampled_from(values), min_size=1, max_size=1
        )
    return st.sampled_from(values)


def _window() -> st.SearchStrategy[dict[str, int]]:
    return st.one_of(
        st.builds(lambda d: {"days": d}, st.integers(1, 120)),
        st.builds(lambda m: {"months": m}, st.integers(1, 12)),
    )


@st.composite
def condition(draw: st.DrawFn, fact: str) -> dict[str, Any]:
    """One condition on `fact` with an operator the vocabulary allows and a value of its kind."""
    spec = FACTS[fact]
    operator = draw(st.sampled_from(spec.operators))
    if spec.kind == "level":
        value = draw(st.sampled_from([*RISK_LEVELS, NO_LEVEL]))
    elif spec.kind == "text":  # its choices, or (free text) the categories streams use
        value = draw(_choice(spec.choices or tuple(CATEGORIES), operator))
    elif spec.kind == "count":
        value = draw(st.integers(0, 4))
    else:
        value = draw(st.booleans())
    found: dict[str, Any] = {"fact": fact, operator: value}
    if "days" in spec.parameters:
        found |= draw(_window())
    if "to" in spec.parameters:
        found["to"] = draw(st.sampled_from(REFERRAL_TARGETS))
    return found


@st.composite
def effect(draw: st.DrawFn, case_types: list[str]) -> dict[str, str]:
    """One effect of any kind, aimed at a target valid for the rule's case types."""
    kind = draw(st.sampled_from(sorted(EFFECTS)))
    policies = POLICIES_OF[case_types[0]] if len(case_types) == 1 else []
    if kind in ("raise_flag", "clear_flag"):
        return {kind: draw(st.sampled_from(FLAGS))}
    if kind == "cancel_cycle":
        return {kind: "all"}
    if kind in ("start_cycle", "stop_cycle") and not policies:
        return {"raise_flag": draw(st.sampled_from(FLAGS))}
    if kind in ("start_cycle", "stop_cycle"):
        return {kind: draw(st.sampled_from(policies))}
    return {kind: draw(st.sampled_from(["from_event", *policies]))}


# Facts that say something about each event type (others are empty for it), so that the
# generated rules fire often enough for the matchers to be compared on real matches.
GENERAL = ["risk_before", "risk_after", "case_status"]
RELEVANT = {
    "incident_reported": ["incident_category", "incidents_within"],
    "contact_attempted": ["contact_method"],
    "referral_made": ["referral_to", "previous_referral_within"],
    "risk_assessed": ["matrix", "police_incidents_12m"],
    "applicant_informed": ["informed_stage"],
    "threshold_decided": ["threshold_met"],
}


@st.composite
def rule(draw: st.DrawFn, number: int) -> dict[str, Any]:
    case_types = draw(st.sampled_from([["asb"], ["domestic_abuse"], ["asb", "domestic_abuse"]]))
    event = draw(st.sampled_from([*RELEVANT, *RELEVANT, *EVENTS]))
    facts = draw(
        st.lists(st.sampled_from(RELEVANT.get(event, GENERAL)), min_size=1, max_size=1)
        | st.lists(st.sampled_from([*RELEVANT.get(event, []), *GENERAL]), max_size=2)
        | st.lists(st.sampled_from(sorted(FACTS)), max_size=2)
    )
    return {
        "id": f"generated-{number}",
        "description": "A rule drawn by the test.",
        "case_types": case_types,
        "when": {
            "event": draw(
                st.just(event)
                | st.lists(st.sampled_from(EVENTS), min_size=1, max_size=3, unique=True).map(
                    lambda more: sorted({event, *more})
                )
            ),
            "conditions": [draw(condition(fact)) for fact in facts],
        },
        "then": draw(st.lists(effect(case_types), min_size=1, max_size=3)),
    }


@st.composite
def rule_files(draw: st.DrawFn, config: Config) -> RuleSet:
    """The shipped rules plus a generated file of one to five rules, which must load."""
    generated = [draw(rule(n)) for n in range(draw(st.integers(1, 5)))]
    text = yaml.safe_dump({"family": "generated", "rules": generated}, sort_keys=False)
    files = [*read_rule_texts().items(), ("zz-generated.yaml", text)]
    return load_rule_files(files, config.policies)


STEPS: dict[str, st.SearchStrategy[tuple[str, dict[str, Any]]]] = {
    "risk_assessed": st.one_of(
        st.builds(
            lambda level, police: (
                "risk_assessed",
                {"matrix": "asb", "level": level}
                | ({"police_incidents_12m": police} if police else {}),
            ),
            st.sampled_from(RISK_LEVELS),
            st.integers(0, 4),
        ),
        st.builds(
            lambda yes: (
                "risk_assessed",
                {"matrix": "dash", "answers": [True] * yes + [False] * (24 - yes)},
            ),
            st.integers(0, 24),
        ),
    ),
    "incident_reported": st.builds(
        lambda c: ("incident_reported", {"category": c}), st.sampled_from(CATEGORIES)
    ),
    "case_conference_held": st.just(("case_conference_held", {})),
    "partner_actions_agreed": st.just(("partner_actions_agreed", {"actions": []})),
    "referral_made": st.builds(
        lambda to: ("referral_made", {"to": to}), st.sampled_from(REFERRAL_TARGETS)
    ),
    "idva_contact_made": st.just(("idva_contact_made", {})),
    "contact_attempted": st.builds(
        lambda m: ("contact_attempted", {"method": m}), st.sampled_from(CONTACT_METHODS)
    ),
    **{
        kind: st.builds(
            lambda policy, kind=kind: (kind, {"policy": policy, "reason": "r"}),
            st.sampled_from([p for ps in POLICIES_OF.values() for p in ps]),
        )
        for kind in ("sla_paused", "sla_resumed", "sla_excluded", "breach_explained")
    },
    "case_closed": st.just(("case_closed", {})),
    "case_reopened": st.just(("case_reopened", {})),
    "case_review_requested": st.just(
        ("case_review_requested", {"applicant": "victim", "complaints": [COMPLAINT]})
    ),
    "applicant_informed": st.builds(
        lambda stage: ("applicant_informed", {"stage": stage}),
        st.sampled_from(["acknowledged", "decision", "outcome"]),
    ),
    "threshold_decided": st.builds(
        lambda met: ("threshold_decided", {"met": met, "reason": "r"}), st.booleans()
    ),
    "case_review_held": st.just(("case_review_held", {})),
}


def stream_for(rules: RuleSet) -> st.SearchStrategy[list[tuple[tuple[str, dict[str, Any]], int]]]:
    """Events of every type, half of them of the types the generated rules listen to, so
    those rules meet the events they test."""
    listened = sorted(
        {e for r in rules.rules if r.id.startswith("generated-") for e in r.events} & set(STEPS)
    )
    every = st.one_of(*STEPS.values())
    step = st.one_of(every, *(STEPS[e] for e in listened)) if listened else every
    return st.lists(st.tuples(step, st.integers(1, 60 * 24 * 40)), min_size=6, max_size=30)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_generated_rules_over_the_whole_vocabulary_derive_identically(
    config: Config, data: st.DataObject
) -> None:
    """Same generated rules, same stream: the same rules fire and the same cycles and
    flags come out of durable-rules and the reference matcher."""
    rules = data.draw(rule_files(config), label="rules")
    generated_types = [r.case_types for r in rules.rules if r.id.startswith("generated-")]
    case_type = data.draw(st.sampled_from(sorted(generated_types[0])), label="case_type")
    steps = data.draw(stream_for(rules), label="steps")
    validator = config.validator()
    at = datetime(2014, 3, 1, 9, 0, tzinfo=LONDON)
    lines = [ev("case_opened", "C1", at.isoformat(), case_type=case_type)]
    for (event_type, fields), gap in steps:
        at += timedelta(minutes=gap)
        if "policy" in fields and fields["policy"] not in POLICIES_OF[case_type]:
            continue
        if case_type != "asb" and event_type in CASE_REVIEW:
            continue  # the importer refuses case review events on a DA case
        lines.append(ev(event_type, "C1", at.isoformat(), **fields))
    events = [validator.validate(line).event for line in lines]
    durable, reference = (
        derive("C1", events, rules, evaluator, config.calendar)
        for evaluator in (DurableEvaluator(rules), ReferenceEvaluator(rules))
    )
    assert durable == reference
    fired = any(f.rule_id.startswith("generated-") for f in reference.fired)
    hypothesis.event("a generated rule fired" if fired else "no generated rule fired")


def test_the_generators_reach_every_fact_operator_and_effect(config: Config) -> None:
    """The vocabulary the property test draws from is the whole vocabulary: every fact
    with each of its operators, and every effect, can be generated and loads."""
    seen: set[tuple[str, str]] = set()
    effects: set[str] = set()

    @settings(max_examples=400, deadline=None, database=None)
    @given(rules=rule_files(config))
    def collect(rules: RuleSet) -> None:
        for generated in rules.rules:
            if generated.id.startswith("generated-"):
                seen.update((c.fact, c.operator) for c in generated.conditions)
                effects.update(e.kind for e in generated.effects)

    collect()
    assert seen == {(fact, op) for fact, spec in FACTS.items() for op in spec.operators}
    assert effects == set(EFFECTS)
