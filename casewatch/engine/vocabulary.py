"""The facts rules may test and the effects they may produce: a closed, typed vocabulary.

Rule files are validated against it (`casewatch rules check`), the snapshot builder
computes exactly these facts, and both evaluators read only the snapshot. A fact name in a
rule file maps to one flat snapshot key, so durable-rules and the reference evaluator
match on identical data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from attrs import frozen

from casewatch.cases.events import (
    CONTACT_METHODS,
    EVENT_TYPES,
    INFORMED_STAGES,
    MATRICES,
    REFERRAL_TARGETS,
)


@frozen
class FactSpec:
    description: str
    kind: str  # "level", "text", "count", "boolean"
    operators: tuple[str, ...]
    parameters: tuple[str, ...] = ()  # e.g. ("days", "months") for windowed counts
    choices: tuple[str, ...] = ()


LEVEL_OPERATORS: Final = ("is", "below", "at_least")
NO_LEVEL: Final = "none"

FACTS: Final[Mapping[str, FactSpec]] = {
    "risk_before": FactSpec(
        "the case's risk level just before this event (none if never assessed or reopened)",
        "level",
        LEVEL_OPERATORS,
    ),
    "risk_after": FactSpec("the case's risk level just after this event", "level", LEVEL_OPERATORS),
    "case_status": FactSpec(
        "open or closed, just after this event", "text", ("is",), choices=("open", "closed")
    ),
    "referral_to": FactSpec(
        "where a referral_made event refers to", "text", ("is", "in"), choices=REFERRAL_TARGETS
    ),
    "contact_method": FactSpec(
        "how a contact_attempted event tried to reach the victim",
        "text",
        ("is", "in"),
        choices=CONTACT_METHODS,
    ),
    "incident_category": FactSpec(
        "the category of an incident_reported event", "text", ("is", "in")
    ),
    "matrix": FactSpec("the matrix of a risk_assessed event", "text", ("is",), choices=MATRICES),
    "police_incidents_12m": FactSpec(
        "police call-outs in the last 12 months given with a risk_assessed event (0 if none)",
        "count",
        ("at_least",),
    ),
    "potential_escalation": FactSpec(
        "a risk_assessed event met its checklist's potential escalation criterion "
        "(as dash.yaml configured it when the assessment was accepted)",
        "boolean",
        ("is",),
    ),
    "incidents_within": FactSpec(
        "incidents on the case in the window ending at this event (this one included; "
        "with across_linked_cases, those of the victim's linked cases too)",
        "count",
        ("at_least",),
        parameters=("days", "months"),
    ),
    "informed_stage": FactSpec(
        "what an applicant_informed event told the ASB case review applicant",
        "text",
        ("is", "in"),
        choices=INFORMED_STAGES,
    ),
    "threshold_met": FactSpec(
        "whether a threshold_decided event found the ASB case review threshold met",
        "boolean",
        ("is",),
    ),
    "previous_referral_within": FactSpec(
        "an earlier referral to the same place within the window before this event "
        "(a referral's window ends at its incident_at when given)",
        "boolean",
        ("is",),
        parameters=("to", "days", "months"),
    ),
}

EFFECTS: Final[Mapping[str, str]] = {
    "start_cycle": "start a cycle of the named policy (none starts while one is open)",
    "stop_cycle": "stop the open cycle of the named policy: met if on time, else breached",
    "pause_cycle": "pause the running cycle of the policy (from_event: the event's policy)",
    "resume_cycle": "resume the paused cycle of the policy, moving its due time",
    "cancel_cycle": "all: cancel open cycles not yet due; an overdue one stops breached",
    "exclude_cycle": "take the latest cycle of the policy out of met/breached",
    "explain_breach": "record the event's reason against the latest cycle of the policy",
    "raise_flag": "raise the named flag (kept once raised)",
    "clear_flag": "clear the named flag",
}
POLICY_EFFECTS: Final = frozenset(EFFECTS) - {"raise_flag", "clear_flag"}
FROM_EVENT: Final = "from_event"
ALL_CYCLES: Final = "all"
EVENT_NAMES: Final = tuple(EVENT_TYPES)
