"""From what a caseworker typed into a page to a contract event, and nothing more.

Pure: the forms post flat text fields; this builds the JSON event the importer validates,
so a page and the API are checked by the same rules with the same words. Only shapes are
decided here (a ticked box is `true`, a comma list a list); whether values are allowed is
the validator's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from casewatch.cases.matrices import Matrices

# The events a page can record on an open case, in the order the page offers them.
RECORDABLE: Final = (
    "incident_reported",
    "case_conference_held",
    "partner_actions_agreed",
    "contact_attempted",
    "referral_made",
    "idva_contact_made",
    "sla_paused",
    "sla_resumed",
    "sla_excluded",
    "breach_explained",
    "case_closed",
    "case_reopened",
)
_POLICY_EVENTS: Final = ("sla_paused", "sla_resumed", "sla_excluded", "breach_explained")


class FormError(ValueError):
    """A field that could not even be read (a date that is not a date)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _ticked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name) in {"on", "yes", "true", "1"}


def _listed(form: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in form.get(name, "").split(",") if part.strip()]


def _whole(form: Mapping[str, str], name: str) -> int | str | None:
    value = _text(form, name)
    if value is None:
        return None
    # Left as text when it is not a number, so the validator words the problem.
    return int(value) if value.isdigit() else value


def event_time(form: Mapping[str, str], tz: ZoneInfo) -> str | None:
    """The `at` of a datetime-local field (local wall-clock time), with its offset."""
    value = _text(form, "at")
    if value is None:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise FormError("at", "'at' must be a date and time") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return local.isoformat()


def _judgement(form: Mapping[str, str]) -> dict[str, Any] | None:
    level, reason = _text(form, "judgement_level"), _text(form, "judgement_reason")
    if level is None and reason is None:
        return None
    return {"level": level, "reason": reason}


def _with_time(event: dict[str, Any], form: Mapping[str, str], tz: ZoneInfo) -> dict[str, Any]:
    at = event_time(form, tz)
    if at is not None:
        event["at"] = at
    return {k: v for k, v in event.items() if v is not None}


def recorded_event(kind: str, form: Mapping[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """The event for one of the RECORDABLE kinds."""
    if kind not in RECORDABLE:
        raise FormError("type", f"choose what happened ({', '.join(RECORDABLE)})")
    event: dict[str, Any] = {"type": kind}
    if kind == "incident_reported":
        event |= {
            "category": _text(form, "category"),
            "reported_by": _text(form, "reported_by"),
            "police_attended": _ticked(form, "police_attended"),
        }
    elif kind == "case_conference_held":
        event["agencies"] = _listed(form, "agencies") or None
    elif kind == "partner_actions_agreed":
        action = {
            "agency": _text(form, "agency"),
            "action": _text(form, "action"),
            "due": _text(form, "due"),
        }
        event["actions"] = [{k: v for k, v in action.items() if v is not None}]
    elif kind == "contact_attempted":
        event |= {"method": _text(form, "method"), "outcome": _text(form, "outcome")}
    elif kind == "referral_made":
        event["to"] = _text(form, "to")
    elif kind in _POLICY_EVENTS:
        event |= {"policy": _text(form, "policy"), "reason": _text(form, "reason")}
    elif kind == "case_closed":
        event["outcome"] = _text(form, "close_outcome")
    return _with_time(event, form, tz)


def dash_event(form: Mapping[str, str], matrices: Matrices, tz: ZoneInfo) -> dict[str, Any]:
    """A DASH assessment by question id: every question unticked is a 'no' (the
    checklist's own rule)."""
    answers = {question.id: _ticked(form, question.id) for question in matrices.dash.questions}
    event = {
        "type": "risk_assessed",
        "matrix": "dash",
        "answers": answers,
        "police_incidents_12m": _whole(form, "police_incidents_12m"),
        "professional_judgement": _judgement(form),
    }
    return _with_time(event, form, tz)


def asb_event(form: Mapping[str, str], matrices: Matrices, tz: ZoneInfo) -> dict[str, Any]:
    answers = {qid: _ticked(form, qid) for qid in matrices.asb.questions}
    event = {
        "type": "risk_assessed",
        "matrix": "asb",
        "answers": answers,
        "police_incidents_12m": _whole(form, "police_incidents_12m"),
        "professional_judgement": _judgement(form),
    }
    return _with_time(event, form, tz)


def opening_event(form: Mapping[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """`case_opened` without `type` (the API's body for opening a case)."""
    victim = {
        name: _text(form, f"victim_{name}")
        for name in ("name", "address", "phone")
        if _text(form, f"victim_{name}")
    }
    event = {
        "case_id": _text(form, "case_id"),
        "case_type": _text(form, "case_type"),
        "team": _text(form, "team"),
        "caseworker": _text(form, "caseworker"),
        "victim": victim or None,
        "tags": _listed(form, "tags") or None,
    }
    return _with_time(event, form, tz)


# -- the ASB case review --------------------------------------------------------------

# The case review steps a page can record on an ASB case, in the order they happen.
CASE_REVIEW_STEPS: Final = (
    "case_review_requested",
    "applicant_informed",
    "threshold_decided",
    "case_review_held",
    "recommendations_made",
    "recommendation_completed",
    "appeal_requested",
    "appeal_decided",
)
MAX_ROWS: Final = 50  # complaint and recommendation rows a form may carry


def _local(form: Mapping[str, str], name: str, tz: ZoneInfo) -> str | None:
    """A datetime-local field as a timestamp with its offset; text that is not a time is
    passed on for the validator to word."""
    value = _text(form, name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).isoformat()


def _rows(form: Mapping[str, str], prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    """Numbered rows (`complaint-1-agency`, ...) with anything typed in them, in order."""
    rows = []
    for index in range(1, MAX_ROWS + 1):
        row = {n: v for n in names if (v := _text(form, f"{prefix}-{index}-{n}")) is not None}
        if row:
            rows.append(row)
    return rows


def _yes_no(form: Mapping[str, str], name: str) -> bool | str | None:
    value = _text(form, name)
    return {"yes": True, "no": False}.get(value or "", value)


def case_review_event(kind: str, form: Mapping[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """The event for one step of an ASB case review."""
    if kind not in CASE_REVIEW_STEPS:
        raise FormError(
            "type", f"choose a step of the case review ({', '.join(CASE_REVIEW_STEPS)})"
        )
    event: dict[str, Any] = {"type": kind}
    if kind == "case_review_requested":
        complaints = _rows(form, "complaint", ("reported_at", "behaviour_at", "agency", "incident"))
        for complaint in complaints:
            for name in ("reported_at", "behaviour_at"):
                complaint_time = _local(complaint, name, tz)
                if complaint_time is not None:
                    complaint[name] = complaint_time
        event |= {"applicant": _text(form, "applicant"), "complaints": complaints}
    elif kind == "applicant_informed":
        event["stage"] = _text(form, "stage")
    elif kind == "threshold_decided":
        event |= {"met": _yes_no(form, "met"), "reason": _text(form, "reason")}
    elif kind == "recommendations_made":
        event["recommendations"] = _rows(form, "recommendation", ("id", "agency", "action", "due"))
    elif kind == "recommendation_completed":
        event["id"] = _text(form, "recommendation")
    elif kind == "appeal_decided":
        event |= {"upheld": _yes_no(form, "upheld"), "reason": _text(form, "reason")}
    return _with_time(event, form, tz)
