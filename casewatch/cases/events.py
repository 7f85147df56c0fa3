"""The event vocabulary of a case (contract section 1), as frozen attrs records.

Events are facts that happened at `at`; a case's state and SLA cycles are derived from
its events, never stored independently of them. Victim personal data travels in its own
`PersonalData` wrapper so it can be kept apart, redacted and erased.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar, Final

from attrs import field, frozen

CASE_TYPES: Final = ("asb", "domestic_abuse")
CASE_TYPE_NAMES: Final = {"asb": "an ASB", "domestic_abuse": "a domestic abuse"}
MATRICES: Final = ("asb", "dash")
RISK_LEVELS: Final = ("low", "standard", "medium", "high")
_LEVEL_RANK: Final = {"low": 0, "standard": 0, "medium": 1, "high": 2}
CONTACT_METHODS: Final = ("call", "letter", "visit")
REFERRAL_TARGETS: Final = ("marac", "idva", "mash", "sanctuary", "other")
APPLICANTS: Final = ("victim", "representative", "business", "community")
INFORMED_STAGES: Final = ("acknowledged", "decision", "outcome")


def level_rank(level: str) -> int:
    """Risk levels are ordered low = standard < medium < high."""
    return _LEVEL_RANK[level]


def canonical_json(value: Any) -> str:
    """One spelling per JSON value, so equal content compares equal whatever the key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    return text_hash(canonical_json(value))


def text_hash(canonical: str) -> str:
    """content_hash of a value whose canonical JSON is already at hand."""
    return hashlib.sha256(canonical.encode()).hexdigest()


@frozen(repr=False)
class PersonalData:
    """Special-category personal data about a victim. Never logged, never printed."""

    fields: Mapping[str, Any]

    def __repr__(self) -> str:
        return "PersonalData(<redacted>)"


@frozen
class Judgement:
    """A professional's judgement: may raise the level from the answers, never lower it."""

    level: str
    reason: str


@frozen
class CaseEscalation:
    """The checklist's potential-escalation criterion as configured when an assessment was
    accepted: `threshold` incidents in `months` calendar months, counting the police
    call-outs given with it, the incidents recorded on the case, or the larger."""

    counts: str
    threshold: int
    months: int


@frozen
class Assessment:
    """The outcome of a risk assessment, fixed when the event is accepted.

    Stored beside the event so a later change to a matrix file never rewrites history.
    `case_escalation` is set when the criterion counts the case's own incidents: those are
    counted at replay (a late incident counts as if on time), under the rule fixed here.
    """

    level: str
    score: int | None
    potential_escalation: bool = False
    matrix_version: str | None = None
    case_escalation: CaseEscalation | None = None


@frozen(kw_only=True)
class Event:
    """Envelope shared by every event."""

    TYPE: ClassVar[str] = ""
    event_id: str
    case_id: str
    at: datetime


@frozen(kw_only=True)
class CaseOpened(Event):
    TYPE: ClassVar[str] = "case_opened"
    case_type: str
    team: str | None = None
    caseworker: str | None = None
    tags: tuple[str, ...] = ()
    victim: PersonalData | None = field(default=None, repr=False)
    # A keyed pseudonym of victim.reference (not personal data: it cannot be turned back
    # into the reference), fixed at acceptance; cases sharing it are the same victim's.
    victim_link: str | None = None


@frozen(kw_only=True)
class IncidentReported(Event):
    TYPE: ClassVar[str] = "incident_reported"
    category: str
    reported_by: str | None = None
    police_attended: bool | None = None


@frozen(kw_only=True)
class RiskAssessed(Event):
    TYPE: ClassVar[str] = "risk_assessed"
    matrix: str
    assessment: Assessment
    judgement: Judgement | None = None
    police_incidents_12m: int | None = None

    @property
    def level(self) -> str:
        return self.assessment.level


@frozen(kw_only=True)
class CaseConferenceHeld(Event):
    TYPE: ClassVar[str] = "case_conference_held"
    agencies: tuple[str, ...] = ()


@frozen
class PartnerAction:
    agency: str
    action: str
    due: str | None = None


@frozen(kw_only=True)
class PartnerActionsAgreed(Event):
    TYPE: ClassVar[str] = "partner_actions_agreed"
    actions: tuple[PartnerAction, ...] = ()


@frozen(kw_only=True)
class ContactAttempted(Event):
    TYPE: ClassVar[str] = "contact_attempted"
    method: str
    outcome: str | None = None


@frozen(kw_only=True)
class ReferralMade(Event):
    TYPE: ClassVar[str] = "referral_made"
    to: str
    incident_at: datetime | None = None  # when the incident that prompted it happened

    @property
    def repeat_reference_at(self) -> datetime:
        """The moment a repeat is judged by: the incident's time when given."""
        return self.incident_at or self.at


@frozen(kw_only=True)
class IdvaContactMade(Event):
    TYPE: ClassVar[str] = "idva_contact_made"


@frozen(kw_only=True)
class SlaEvent(Event):
    """An instruction about one policy's cycles, always with a reason a PSG can read."""

    policy: str
    reason: str


@frozen(kw_only=True)
class SlaPaused(SlaEvent):
    TYPE: ClassVar[str] = "sla_paused"


@frozen(kw_only=True)
class SlaResumed(SlaEvent):
    TYPE: ClassVar[str] = "sla_resumed"


@frozen(kw_only=True)
class SlaExcluded(SlaEvent):
    TYPE: ClassVar[str] = "sla_excluded"


@frozen(kw_only=True)
class BreachExplained(SlaEvent):
    TYPE: ClassVar[str] = "breach_explained"


@frozen(kw_only=True)
class CaseClosed(Event):
    TYPE: ClassVar[str] = "case_closed"
    outcome: str | None = None


@frozen(kw_only=True)
class CaseReopened(Event):
    TYPE: ClassVar[str] = "case_reopened"


# -- the ASB case review (Anti-social Behaviour, Crime and Policing Act 2014, s.104) -----


@frozen
class Complaint:
    """A complaint an application relies on: when the behaviour happened, when and to
    which agency it was reported. Complaints naming the same `incident` count once."""

    reported_at: datetime
    behaviour_at: datetime
    agency: str
    incident: str | None = None


@frozen(kw_only=True)
class CaseReviewRequested(Event):
    TYPE: ClassVar[str] = "case_review_requested"
    applicant: str
    complaints: tuple[Complaint, ...]


@frozen(kw_only=True)
class ApplicantInformed(Event):
    TYPE: ClassVar[str] = "applicant_informed"
    stage: str


@frozen(kw_only=True)
class ThresholdDecided(Event):
    TYPE: ClassVar[str] = "threshold_decided"
    met: bool
    reason: str


@frozen(kw_only=True)
class CaseReviewHeld(Event):
    TYPE: ClassVar[str] = "case_review_held"


@frozen
class Recommendation:
    id: str
    agency: str
    action: str
    due: date


@frozen(kw_only=True)
class RecommendationsMade(Event):
    TYPE: ClassVar[str] = "recommendations_made"
    recommendations: tuple[Recommendation, ...] = ()


@frozen(kw_only=True)
class RecommendationCompleted(Event):
    TYPE: ClassVar[str] = "recommendation_completed"
    recommendation_id: str


@frozen(kw_only=True)
class AppealRequested(Event):
    TYPE: ClassVar[str] = "appeal_requested"


@frozen(kw_only=True)
class AppealDecided(Event):
    TYPE: ClassVar[str] = "appeal_decided"
    upheld: bool
    reason: str


CASE_REVIEW_EVENTS: Final[tuple[type[Event], ...]] = (
    CaseReviewRequested,
    ApplicantInformed,
    ThresholdDecided,
    CaseReviewHeld,
    RecommendationsMade,
    RecommendationCompleted,
    AppealRequested,
    AppealDecided,
)
CASE_REVIEW_TYPES: Final = frozenset(cls.TYPE for cls in CASE_REVIEW_EVENTS)

EVENT_TYPES: Final[Mapping[str, type[Event]]] = {
    cls.TYPE: cls
    for cls in (
        CaseOpened,
        IncidentReported,
        RiskAssessed,
        CaseConferenceHeld,
        PartnerActionsAgreed,
        ContactAttempted,
        ReferralMade,
        IdvaContactMade,
        SlaPaused,
        SlaResumed,
        SlaExcluded,
        BreachExplained,
        CaseClosed,
        CaseReopened,
    )
} | {cls.TYPE: cls for cls in CASE_REVIEW_EVENTS}
