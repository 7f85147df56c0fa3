"""Validate one imported JSON object against the contract and build its event.

Everything that can be checked from the line alone is checked here, purely; checks that
need other lines or the database (duplicate ids, unknown cases, a policy's case type) are
the importer's. Problems are collected, not raised one at a time, so a caseworker fixing a
file sees every problem with a line at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs
from attrs import frozen

from casewatch.cases.case_review import CaseReviewSettings
from casewatch.cases.clock import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    TimestampError,
    parse_event_time,
    within_supported_years,
)
from casewatch.cases.events import (
    APPLICANTS,
    CASE_TYPES,
    CONTACT_METHODS,
    EVENT_TYPES,
    INFORMED_STAGES,
    MATRICES,
    REFERRAL_TARGETS,
    RISK_LEVELS,
    Assessment,
    CaseEscalation,
    CaseOpened,
    Complaint,
    Event,
    Judgement,
    PartnerAction,
    PersonalData,
    Recommendation,
    SlaEvent,
    canonical_json,
    content_hash,
    level_rank,
    text_hash,
)
from casewatch.cases.linking import victim_link, victim_reference
from casewatch.cases.matrices import AnswersError, Matrices
from casewatch.cases.problems import Problem, sentences

ENVELOPE: Final = ("event_id", "type", "case_id", "at")
PERSONAL_FIELD: Final = "victim"
_MAX_ID_LENGTH: Final = 200
_MAX_NAME_LENGTH: Final = 200  # teams and caseworkers are stored in columns this wide
_NUL: Final = "\x00"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")  # only a lone \uD800 escape gives one
MAX_NESTING: Final = 64  # levels of objects and lists in an event, its own object included
TOO_DEEP: Final = (
    f"nested too deeply: an event may hold at most {MAX_NESTING} levels of lists and objects"
)


class RejectedEventError(ValueError):
    """An event that cannot be accepted; each problem names its field and says what is
    wrong in a caseworker's words."""

    def __init__(self, problems: list[Problem], event_id: str | None) -> None:
        super().__init__(sentences(problems))
        self.problems = problems
        self.event_id = event_id


@frozen
class ValidEvent:
    """An accepted line: the event plus the forms it is stored in."""

    event: Event
    payload: str  # canonical JSON of the line without personal data
    derived: str | None  # canonical JSON of facts computed on acceptance (risk level, score)
    personal: str | None  # canonical JSON of the victim's personal data, stored apart
    content_hash: str  # of the whole line, personal data included, for duplicate checks

    @property
    def policy(self) -> str | None:
        return self.event.policy if isinstance(self.event, SlaEvent) else None

    @property
    def case_type(self) -> str | None:
        return self.event.case_type if isinstance(self.event, CaseOpened) else None


class _Fields:
    """Reads fields off one JSON object, collecting every problem it finds."""

    def __init__(self, obj: Mapping[str, Any]) -> None:
        self.obj = obj
        self.problems: list[Problem] = []

    def add(self, name: str, words: str) -> None:
        """A problem of field `name` ("" for the object as a whole)."""
        self.problems.append(Problem(name, words))

    def present(self, name: str) -> bool:
        return name in self.obj and self.obj[name] is not None

    def text(self, name: str, *, required: bool, choices: tuple[str, ...] = ()) -> str | None:
        if not self.present(name):
            if required:
                expected = f" (one of {_quoted(choices)})" if choices else ""
                self.add(name, f"'{name}' is missing{expected}")
            return None
        value = self.obj[name]
        if not isinstance(value, str) or not value.strip():
            self.add(name, f"'{name}' must be non-empty text")
            return None
        if choices and value not in choices:
            self.add(name, f"'{name}' must be one of {_quoted(choices)}, not '{_short(value)}'")
            return None
        return value

    def flag(self, name: str) -> bool | None:
        if not self.present(name):
            return None
        value = self.obj[name]
        if not isinstance(value, bool):
            self.add(name, f"'{name}' must be true or false")
            return None
        return value

    def count(self, name: str) -> int | None:
        if not self.present(name):
            return None
        value = self.obj[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.add(name, f"'{name}' must be a whole number, 0 or more")
            return None
        return value

    def text_list(self, name: str) -> tuple[str, ...]:
        if not self.present(name):
            return ()
        value = self.obj[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(name, f"'{name}' must be a list of text values")
            return ()
        return tuple(value)

    def mapping(self, name: str) -> Mapping[str, Any] | None:
        if not self.present(name):
            return None
        value = self.obj[name]
        if not isinstance(value, dict):
            self.add(name, f"'{name}' must be an object")
            return None
        return value


class EventValidator:
    """Checks lines against the contract, the risk matrices and the policy catalogue.

    `policies` maps each policy id to the case types it applies to; whether the event's
    case is of one of those types is checked once all lines are read.
    """

    def __init__(
        self,
        matrices: Matrices,
        policies: Mapping[str, frozenset[str]],
        case_review: CaseReviewSettings | None = None,
        link_secret: bytes | None = None,
    ) -> None:
        self.matrices = matrices
        self.policies = policies
        self.case_review = case_review or CaseReviewSettings()
        # The deployment's key for victim links (cases.linking); the importer supplies it.
        self.link_secret = link_secret

    def with_link_secret(self, secret: bytes) -> EventValidator:
        return EventValidator(self.matrices, self.policies, self.case_review, secret)

    def validate(self, obj: Any) -> ValidEvent:
        if not isinstance(obj, dict):
            raise RejectedEventError([Problem("", "each line must be a JSON object ({...})")], None)
        fields = _Fields(obj)
        fields.problems.extend(_unstorable_text(obj))
        raw_id = obj.get("event_id")
        event_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else None
        self._check_identifier(fields, "event_id")
        self._check_identifier(fields, "case_id")
        event_type = fields.text("type", required=True)
        if event_type is not None and event_type not in EVENT_TYPES:
            fields.add(
                "type",
                f"unknown event type '{_short(event_type)}' "
                f"(known types: {', '.join(EVENT_TYPES)})",
            )
            event_type = None
        at_problem = self._check_time(obj)
        if at_problem:
            fields.problems.append(at_problem)
        derived: dict[str, Any] | None = None
        if event_type is not None:
            checker = self._CHECKS.get(event_type)
            if checker is not None:
                derived = checker(self, fields)
        if fields.problems:
            raise RejectedEventError(fields.problems, event_id)
        personal = obj.get(PERSONAL_FIELD)
        payload = {k: v for k, v in obj.items() if k != PERSONAL_FIELD}
        event = decode_event(payload, derived, personal)
        # Without a victim object the payload is the whole line: one spelling serves both.
        stored = canonical_json(payload)
        return ValidEvent(
            event=event,
            payload=stored,
            derived=canonical_json(derived) if derived is not None else None,
            personal=canonical_json(personal) if personal is not None else None,
            content_hash=content_hash(obj) if PERSONAL_FIELD in obj else text_hash(stored),
        )

    @staticmethod
    def _check_identifier(fields: _Fields, name: str) -> None:
        value = fields.text(name, required=True)
        if value is not None and len(value) > _MAX_ID_LENGTH:
            fields.add(name, f"'{name}' is longer than {_MAX_ID_LENGTH} characters")

    @staticmethod
    def _check_time(obj: Mapping[str, Any], name: str = "at") -> Problem | None:
        if obj.get(name) is None:
            return Problem(
                name,
                f"'{name}' is missing (a timestamp with offset, e.g. 2014-05-06T10:30:00+01:00)",
            )
        try:
            at = parse_event_time(obj[name])
        except TimestampError as exc:
            return Problem(name, f"'{name}' {exc}")
        if not within_supported_years(at):
            return Problem(
                name, f"'{name}' must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
            )
        return None

    def _case_opened(self, fields: _Fields) -> dict[str, Any] | None:
        fields.text("case_type", required=True, choices=CASE_TYPES)
        for name in ("team", "caseworker"):
            value = fields.text(name, required=False)
            if value is not None and len(value) > _MAX_NAME_LENGTH:
                fields.add(name, f"'{name}' is longer than {_MAX_NAME_LENGTH} characters")
        fields.text_list("tags")
        victim = fields.mapping(PERSONAL_FIELD)
        reference = victim_reference(victim, fields.problems)
        if reference is not None and self.link_secret is not None:
            return {"victim_link": victim_link(self.link_secret, reference)}
        return None

    def _incident(self, fields: _Fields) -> None:
        fields.text("category", required=True)
        fields.text("reported_by", required=False)
        fields.flag("police_attended")

    def _risk(self, fields: _Fields) -> dict[str, Any] | None:
        problems_before = len(fields.problems)
        matrix = fields.text("matrix", required=True, choices=MATRICES)
        has_level, has_answers = fields.present("level"), fields.present("answers")
        if has_level == has_answers:
            fields.add("answers", "give exactly one of 'level' or 'answers'")
            return None
        level = fields.text("level", required=False, choices=RISK_LEVELS)
        police = fields.count("police_incidents_12m")
        judgement = self._judgement(fields)
        if matrix is None or len(fields.problems) > problems_before:
            return None
        try:
            assessment = self._assess(fields.obj.get("answers"), level, matrix, police)
        except AnswersError as exc:
            fields.add("answers", str(exc))
            return None
        if judgement is not None:
            if level_rank(judgement) < level_rank(assessment.level):
                fields.add(
                    "professional_judgement",
                    "professional judgement can raise a risk level but never lower it: "
                    f"the assessment gives '{assessment.level}', the judgement says '{judgement}'",
                )
                return None
            if level_rank(judgement) > level_rank(assessment.level):
                assessment = Assessment(
                    level=judgement,
                    score=assessment.score,
                    potential_escalation=assessment.potential_escalation,
                    matrix_version=assessment.matrix_version,
                    case_escalation=assessment.case_escalation,
                )
        derived: dict[str, Any] = {
            "level": assessment.level,
            "score": assessment.score,
            "potential_escalation": assessment.potential_escalation,
            "matrix_version": assessment.matrix_version,
        }
        if assessment.case_escalation is not None:
            derived["case_escalation"] = attrs.asdict(assessment.case_escalation)
        return derived

    def _assess(
        self, answers: Any, level: str | None, matrix: str, police: int | None
    ) -> Assessment:
        if matrix == "dash":  # a list in SafeLives' order or {question id: bool}
            return self.matrices.dash.assess(answers, level, police)
        if answers is not None and (
            not isinstance(answers, dict) or not all(isinstance(a, bool) for a in answers.values())
        ):
            raise AnswersError(
                "ASB 'answers' must be an object of question id to true/false, e.g. {\"p1\": true}"
            )
        return self.matrices.asb.assess(answers, level)

    @staticmethod
    def _judgement(fields: _Fields) -> str | None:
        judgement = fields.mapping("professional_judgement")
        if judgement is None:
            return None
        inner = _Fields(judgement)
        level = inner.text("level", required=True, choices=RISK_LEVELS)
        inner.text("reason", required=True)
        fields.problems.extend(
            p.within("professional_judgement", "professional_judgement") for p in inner.problems
        )
        return level if not inner.problems else None

    def _conference(self, fields: _Fields) -> None:
        fields.text_list("agencies")

    def _partner_actions(self, fields: _Fields) -> None:
        if not fields.present("actions"):
            return
        actions = fields.obj["actions"]
        if not isinstance(actions, list):
            fields.add("actions", "'actions' must be a list of {agency, action, due}")
            return
        for index, action in enumerate(actions, start=1):
            if not isinstance(action, dict):
                fields.add(
                    f"actions[{index - 1}]",
                    f"actions[{index}] must be an object {{agency, action, due}}",
                )
                continue
            inner = _Fields(action)
            inner.text("agency", required=True)
            inner.text("action", required=True)
            inner.text("due", required=False)
            fields.problems.extend(
                p.within(f"actions[{index - 1}]", f"actions[{index}]") for p in inner.problems
            )

    def _contact(self, fields: _Fields) -> None:
        fields.text("method", required=True, choices=CONTACT_METHODS)
        fields.text("outcome", required=False)

    def _referral(self, fields: _Fields) -> None:
        fields.text("to", required=True, choices=REFERRAL_TARGETS)
        if fields.present("incident_at"):
            problem = self._check_time(fields.obj, "incident_at")
            if (
                problem is None
                and self._check_time(fields.obj) is None
                and parse_event_time(fields.obj["incident_at"]) > parse_event_time(fields.obj["at"])
            ):
                problem = Problem(
                    "incident_at",
                    "'incident_at' (the incident that prompted the referral) cannot be "
                    "after the referral's 'at'",
                )
            if problem is not None:
                fields.problems.append(problem)

    def _sla(self, fields: _Fields) -> None:
        policy = fields.text("policy", required=True)
        fields.text("reason", required=True)
        if policy is not None and policy not in self.policies:
            fields.add(
                "policy",
                f"unknown policy '{_short(policy)}' (policies: {', '.join(self.policies)})",
            )

    def _closed(self, fields: _Fields) -> None:
        fields.text("outcome", required=False)

    def _nothing(self, fields: _Fields) -> None:
        return None

    # -- the ASB case review --------------------------------------------------------

    def _review_requested(self, fields: _Fields) -> None:
        fields.text("applicant", required=True, choices=APPLICANTS)
        complaints = fields.obj.get("complaints")
        shape = "{reported_at, behaviour_at, agency, [incident]}"
        if not isinstance(complaints, list) or not complaints:
            fields.add("complaints", f"'complaints' must be a non-empty list of {shape}")
            return
        requested_at = _time_or_none(fields.obj.get("at"))
        for index, complaint in enumerate(complaints, start=1):
            if not isinstance(complaint, dict):
                fields.add(
                    f"complaints[{index - 1}]", f"complaints[{index}] must be an object {shape}"
                )
                continue
            inner = _Fields(complaint)
            inner.text("agency", required=True)
            inner.text("incident", required=False)
            for name in ("reported_at", "behaviour_at"):
                moment = _timestamp_field(inner, name)
                if moment is not None and requested_at is not None and moment > requested_at:
                    inner.add(
                        name,
                        f"'{name}' {complaint[name]} is after the application "
                        f"('at' {fields.obj['at']}): a complaint relied on must come before it",
                    )
            fields.problems.extend(
                p.within(f"complaints[{index - 1}]", f"complaints[{index}]") for p in inner.problems
            )

    def _informed(self, fields: _Fields) -> None:
        fields.text("stage", required=True, choices=INFORMED_STAGES)

    def _threshold(self, fields: _Fields) -> None:
        _required_flag(fields, "met")
        fields.text("reason", required=True)

    def _recommendations(self, fields: _Fields) -> None:
        shape = "{id, agency, action, due}"
        recommendations = fields.obj.get("recommendations")
        if not isinstance(recommendations, list):
            fields.add(
                "recommendations", f"'recommendations' must be a list (it may be empty) of {shape}"
            )
            return
        seen: dict[str, int] = {}
        for index, recommendation in enumerate(recommendations, start=1):
            if not isinstance(recommendation, dict):
                fields.add(
                    f"recommendations[{index - 1}]",
                    f"recommendations[{index}] must be an object {shape}",
                )
                continue
            inner = _Fields(recommendation)
            rec_id = inner.text("id", required=True)
            inner.text("agency", required=True)
            inner.text("action", required=True)
            due = inner.text("due", required=True)
            if due is not None and _date_or_none(due) is None:
                inner.add("due", f"'due' must be a date (YYYY-MM-DD), not '{_short(due)}'")
            if rec_id is not None:
                if rec_id in seen:
                    inner.add(
                        "id",
                        f"id '{_short(rec_id)}' is already used by recommendations[{seen[rec_id]}]",
                    )
                seen.setdefault(rec_id, index)
            fields.problems.extend(
                p.within(f"recommendations[{index - 1}]", f"recommendations[{index}]")
                for p in inner.problems
            )

    def _completed(self, fields: _Fields) -> None:
        fields.text("id", required=True)

    def _appeal_decided(self, fields: _Fields) -> None:
        _required_flag(fields, "upheld")
        fields.text("reason", required=True)

    _CHECKS: Final[Mapping[str, Callable[[EventValidator, _Fields], dict[str, Any] | None]]] = {
        "case_opened": _case_opened,
        "incident_reported": _incident,
        "risk_assessed": _risk,
        "case_conference_held": _conference,
        "partner_actions_agreed": _partner_actions,
        "contact_attempted": _contact,
        "referral_made": _referral,
        "idva_contact_made": _nothing,
        "sla_paused": _sla,
        "sla_resumed": _sla,
        "sla_excluded": _sla,
        "breach_explained": _sla,
        "case_closed": _closed,
        "case_reopened": _nothing,
        "case_review_requested": _review_requested,
        "applicant_informed": _informed,
        "threshold_decided": _threshold,
        "case_review_held": _nothing,
        "recommendations_made": _recommendations,
        "recommendation_completed": _completed,
        "appeal_requested": _nothing,
        "appeal_decided": _appeal_decided,
    }


def decode_event(
    payload: Mapping[str, Any], derived: Mapping[str, Any] | None, personal: Any = None
) -> Event:
    """Build the event from its stored forms. Trusts its input: validation happened on
    acceptance, and must not be redone against today's matrices."""
    cls = EVENT_TYPES[payload["type"]]
    common: dict[str, Any] = {
        "event_id": payload["event_id"],
        "case_id": payload["case_id"],
        "at": parse_event_time(payload["at"]),
    }
    specific: dict[str, Any]
    match payload["type"]:
        case "case_opened":
            specific = {
                "case_type": payload["case_type"],
                "team": payload.get("team"),
                "caseworker": payload.get("caseworker"),
                "tags": tuple(payload.get("tags") or ()),
                "victim": PersonalData(personal) if personal is not None else None,
                "victim_link": (derived or {}).get("victim_link"),
            }
        case "incident_reported":
            specific = {
                "category": payload["category"],
                "reported_by": payload.get("reported_by"),
                "police_attended": payload.get("police_attended"),
            }
        case "risk_assessed":
            assert derived is not None
            judgement = payload.get("professional_judgement")
            specific = {
                "matrix": payload["matrix"],
                "assessment": Assessment(
                    level=derived["level"],
                    score=derived.get("score"),
                    potential_escalation=bool(derived.get("potential_escalation")),
                    matrix_version=derived.get("matrix_version"),
                    case_escalation=(
                        CaseEscalation(**derived["case_escalation"])
                        if derived.get("case_escalation")
                        else None
                    ),
                ),
                "judgement": (
                    Judgement(level=judgement["level"], reason=judgement["reason"])
                    if judgement
                    else None
                ),
                "police_incidents_12m": payload.get("police_incidents_12m"),
            }
        case "case_conference_held":
            specific = {"agencies": tuple(payload.get("agencies") or ())}
        case "partner_actions_agreed":
            specific = {
                "actions": tuple(
                    PartnerAction(agency=a["agency"], action=a["action"], due=a.get("due"))
                    for a in payload.get("actions") or ()
                )
            }
        case "contact_attempted":
            specific = {"method": payload["method"], "outcome": payload.get("outcome")}
        case "referral_made":
            incident_at = payload.get("incident_at")
            specific = {
                "to": payload["to"],
                "incident_at": parse_event_time(incident_at) if incident_at else None,
            }
        case "sla_paused" | "sla_resumed" | "sla_excluded" | "breach_explained":
            specific = {"policy": payload["policy"], "reason": payload["reason"]}
        case "case_closed":
            specific = {"outcome": payload.get("outcome")}
        case "case_review_requested" | "applicant_informed" | "threshold_decided":
            specific = _decode_review(payload)
        case "recommendations_made" | "recommendation_completed" | "appeal_decided":
            specific = _decode_review(payload)
        case _:
            specific = {}
    return cls(**common, **specific)


def _decode_review(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of the ASB case review events that carry any."""
    match payload["type"]:
        case "case_review_requested":
            return {
                "applicant": payload["applicant"],
                "complaints": tuple(
                    Complaint(
                        reported_at=parse_event_time(c["reported_at"]),
                        behaviour_at=parse_event_time(c["behaviour_at"]),
                        agency=c["agency"],
                        incident=c.get("incident"),
                    )
                    for c in payload["complaints"]
                ),
            }
        case "applicant_informed":
            return {"stage": payload["stage"]}
        case "threshold_decided":
            return {"met": payload["met"], "reason": payload["reason"]}
        case "recommendations_made":
            return {
                "recommendations": tuple(
                    Recommendation(
                        id=r["id"],
                        agency=r["agency"],
                        action=r["action"],
                        due=date.fromisoformat(r["due"]),
                    )
                    for r in payload["recommendations"]
                )
            }
        case "recommendation_completed":
            return {"recommendation_id": payload["id"]}
        case _:  # appeal_decided
            return {"upheld": payload["upheld"], "reason": payload["reason"]}


def _required_flag(fields: _Fields, name: str) -> None:
    if not fields.present(name):
        fields.add(name, f"'{name}' is missing (true or false)")
    else:
        fields.flag(name)


def _time_or_none(value: Any) -> datetime | None:
    try:
        moment = parse_event_time(value)
    except TimestampError:
        return None
    return moment if within_supported_years(moment) else None


def _timestamp_field(fields: _Fields, name: str) -> datetime | None:
    """A timestamp field other than `at`, held to the same rules as `at`."""
    if not fields.present(name):
        fields.add(
            name, f"'{name}' is missing (a timestamp with offset, e.g. 2014-05-06T10:30:00+01:00)"
        )
        return None
    try:
        moment = parse_event_time(fields.obj[name])
    except TimestampError as exc:
        fields.add(name, f"'{name}' {exc}")
        return None
    if not within_supported_years(moment):
        fields.add(name, f"'{name}' must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
        return None
    return moment


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _unstorable_text(obj: Mapping[str, Any]) -> list[Problem]:
    """What JSON allows but no caseworker means and the database cannot store, named by
    its top-level field: the NUL character (PostgreSQL refuses it), half a UTF-16
    surrogate pair (no character at all: it cannot be written as UTF-8), and nesting so
    deep that storing or showing the event would exhaust the stack."""
    problems = []
    for key, value in obj.items():
        if _plain(key) and (_plain(value) or not isinstance(value, (str, dict, list))):
            continue  # nearly every field: ASCII text without NUL, a number, true or null
        nul, surrogate, depth = _scan(value)
        if not (nul or surrogate or depth + 1 > MAX_NESTING or _NUL in key or _has_surrogate(key)):
            continue
        shown, path = _shown_key(key), _key_path(key)
        if nul or _NUL in key:
            problems.append(
                Problem(
                    path, f"'{shown}' contains the NUL character (U+0000), which cannot be stored"
                )
            )
        if surrogate or _has_surrogate(key):
            problems.append(
                Problem(
                    path,
                    f"'{shown}' contains half of a UTF-16 surrogate pair (a lone \\uD800-\\uDFFF "
                    "escape), which is not a character and cannot be stored",
                )
            )
        if depth + 1 > MAX_NESTING:
            problems.append(Problem(path, f"'{shown}' is {TOO_DEEP}"))
    return problems


def _plain(text: Any) -> bool:
    """Text that cannot hold a NUL or a lone surrogate (ASCII has none of the latter)."""
    return isinstance(text, str) and text.isascii() and _NUL not in text


def nesting_problems(obj: Mapping[str, Any]) -> list[Problem]:
    """The fields of an event nested deeper than an event may be, found without recursion
    (the HTTP service checks this before it serialises a body)."""
    return [
        Problem(_key_path(key), f"'{_shown_key(key)}' is {TOO_DEEP}")
        for key, value in obj.items()
        if _scan(value)[2] + 1 > MAX_NESTING
    ]


@frozen
class TooDeep:
    """Text refused for its nesting before it is parsed: the problems (one per top-level
    field nested too deeply, or one for the whole text) and the event id, when the text
    is an object with a string `event_id`."""

    problems: tuple[Problem, ...]
    event_id: str | None


# A JSON string (escapes included) or one structural character; strings are matched
# whole, so brackets inside them are not counted.
_JSON_TOKEN: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]')


def nesting_before_parsing(text: str, whole: str) -> TooDeep | None:
    """Refuse JSON text nested deeper than an event may be, before a parser recurses into
    it: the same words and the same fields named whatever the depth, where a parser's
    limit depends on the stack of the thread that runs it. `whole` names the text in the
    problem when it is not an object ("the line", "the request body"). Text with at most
    MAX_NESTING brackets cannot be too deep and is passed at the cost of two counts."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth, key, previous, top_is_object = 0, "", "", False
    fields: list[str] = []
    event_id = None
    for found in _JSON_TOKEN.finditer(text):
        piece = found.group()
        if piece in "[{":
            depth += 1
            top_is_object = top_is_object or (depth == 1 and piece == "{")
            if depth > MAX_NESTING and (not fields or fields[-1] != key):
                fields.append(key if top_is_object else "")
        elif piece in "]}":
            depth -= 1
        elif piece == ":" and depth == 1:
            key = _json_string(previous)
        elif piece.startswith('"') and depth == 1 and previous == ":" and key == "event_id":
            event_id = _json_string(piece)
        previous = piece
    if not fields:
        return None
    problems = tuple(
        dict.fromkeys(
            Problem(_key_path(name), f"'{_shown_key(name)}' is {TOO_DEEP}")
            if name
            else Problem("", f"{whole} is {TOO_DEEP}")
            for name in fields
        )
    )
    # As the validator reports it: a string that is not blank.
    reported = event_id if top_is_object and event_id and event_id.strip() else None
    return TooDeep(problems, reported)


def _json_string(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token
    return value if isinstance(value, str) else token


def _shown_key(key: str) -> str:
    return key.replace(_NUL, r"\0")


def _key_path(key: str) -> str:
    """A top-level key as a field path: printable (a lone surrogate as its escape), and
    the event as a whole ("") when nothing of it would show."""
    shown = _shown_key(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return shown if shown.strip() else ""


def _has_surrogate(text: str) -> bool:
    # ASCII text (nearly all of it) cannot hold one; CPython knows that without a scan.
    return not text.isascii() and _SURROGATE.search(text) is not None


def _scan(value: Any) -> tuple[bool, bool, int]:
    """(holds a NUL, holds a lone surrogate, levels of lists and objects) of a JSON value,
    walked with a stack of its own: a deeply nested value must not exhaust Python's."""
    nul = surrogate = False
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            nul = nul or _NUL in item
            surrogate = surrogate or _has_surrogate(item)
        elif isinstance(item, dict):
            deepest = max(deepest, depth)
            for key, inner in item.items():
                nul = nul or _NUL in key
                surrogate = surrogate or _has_surrogate(key)
                pending.append((inner, depth + 1))
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((inner, depth + 1) for inner in item)
    return nul, surrogate, deepest


def _quoted(choices: tuple[str, ...]) -> str:
    return ", ".join(f"'{c}'" for c in choices)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
