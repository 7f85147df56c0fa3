"""The ASB case review's statutory threshold and the checks that need a case's other events.

Anti-social Behaviour, Crime and Policing Act 2014, s.104(4): when an application is made
and at least three qualifying complaints (or the smaller number the local review
procedures set) have been made about the behaviour, the relevant bodies *must* decide the
threshold is met. A complaint qualifies when it was made within one month of the
behaviour and the application within six months of the complaint; one incident reported
to several agencies counts once (local procedures say so, e.g. North Kesteven's). The
sources are named in docs/case-review.md and casewatch/config/settings.yaml.

Pure: the importer gathers a case's events (from the file and earlier imports) and asks
`review_problems` what is wrong with the new ones.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from attrs import Factory, frozen

from casewatch.cases.events import (
    CASE_REVIEW_TYPES,
    CaseReviewRequested,
    Complaint,
    Event,
    RecommendationCompleted,
    RecommendationsMade,
    ThresholdDecided,
)
from casewatch.cases.problems import Problem

STATUTORY_THRESHOLD: Final = 3  # s.104(4): "at least three", or fewer if the procedures say
COMPLAINT_WITHIN_MONTHS: Final = 1
APPLICATION_WITHIN_MONTHS: Final = 6


class CaseReviewConfigError(ValueError):
    """A case review setting that cannot be used; names the file and the setting."""


@frozen
class CaseReviewSettings:
    """The local review procedure's threshold and the partnership's time zone."""

    threshold: int = STATUTORY_THRESHOLD
    tz: ZoneInfo = Factory(lambda: ZoneInfo("Europe/London"))


def case_review_settings_from_mapping(
    data: object, source: str, tz: ZoneInfo
) -> CaseReviewSettings:
    """`case_review: {threshold: N}` from settings.yaml; 1 to 3 (the Act's default is the
    most a procedure may ask for)."""
    if data is None:
        return CaseReviewSettings(tz=tz)
    if not isinstance(data, dict):
        raise CaseReviewConfigError(
            f"{source}: 'case_review' must be a mapping like {{threshold: 3}}"
        )
    unknown = sorted(set(data) - {"threshold"})
    if unknown:
        raise CaseReviewConfigError(
            f"{source}: unknown case_review setting(s) {', '.join(map(str, unknown))}"
        )
    threshold = data.get("threshold", STATUTORY_THRESHOLD)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int)
        or not 1 <= threshold <= STATUTORY_THRESHOLD
    ):
        raise CaseReviewConfigError(
            f"{source}: case_review.threshold must be a whole number from 1 to "
            f"{STATUTORY_THRESHOLD} (the Act's threshold is at most three qualifying complaints)"
        )
    return CaseReviewSettings(threshold=threshold, tz=tz)


def add_local_months(moment: datetime, months: int, tz: ZoneInfo) -> datetime:
    """Calendar months on the local calendar (31 Aug + 6 months = 28/29 Feb), the same
    wall-clock time; the engine's calendar uses this too, so both agree to the second."""
    wall = moment.astimezone(tz).replace(tzinfo=None)
    return plus_months(wall, months).replace(tzinfo=tz).astimezone(UTC)


def plus_months(wall: datetime, months: int) -> datetime:
    """`wall` moved by whole calendar months, the day clamped to the month's last (as
    dateutil's relativedelta does it, without building one per call: rule windows
    compute this for every incident and referral replayed)."""
    years, month0 = divmod(wall.month - 1 + months, 12)
    year, month = wall.year + years, month0 + 1
    return wall.replace(year=year, month=month, day=min(wall.day, monthrange(year, month)[1]))


def qualifies(complaint: Complaint, requested_at: datetime, tz: ZoneInfo) -> bool:
    """Reported within a month of the behaviour (not before it), and the application
    within six months of the report."""
    return complaint.behaviour_at <= complaint.reported_at <= add_local_months(
        complaint.behaviour_at, COMPLAINT_WITHIN_MONTHS, tz
    ) and requested_at <= add_local_months(complaint.reported_at, APPLICATION_WITHIN_MONTHS, tz)


def qualifying_complaints(
    complaints: Sequence[Complaint], requested_at: datetime, tz: ZoneInfo
) -> list[int]:
    """Indexes (0-based) of the complaints that count: each qualifying one, except a later
    report of an incident already counted."""
    counted: list[int] = []
    incidents: set[str] = set()
    for index, complaint in enumerate(complaints):
        if not qualifies(complaint, requested_at, tz):
            continue
        if complaint.incident is not None:
            if complaint.incident in incidents:
                continue
            incidents.add(complaint.incident)
        counted.append(index)
    return counted


def threshold_met(request: CaseReviewRequested, settings: CaseReviewSettings) -> bool:
    """Whether the Act requires a "met" decision on this application."""
    counted = qualifying_complaints(request.complaints, request.at, settings.tz)
    return len(counted) >= settings.threshold


def describe_complaint(number: int, complaint: Complaint, tz: ZoneInfo) -> str:
    reported = complaint.reported_at.astimezone(tz).date().isoformat()
    incident = f"incident '{complaint.incident}', " if complaint.incident else ""
    return f"complaint {number} ({incident}reported {reported} to {complaint.agency})"


@frozen
class ReviewEvent:
    """One case review event of a case, with where it came from: `line` is its line in the
    file being imported, None for an event imported before (checked then)."""

    event: Event
    line: int | None


LineProblem = tuple[int, str, Problem]  # (line, event id, what is wrong and where)


def review_problems(
    case_id: str,
    case_type: str | None,
    events: Iterable[ReviewEvent],
    settings: CaseReviewSettings,
    *,
    application_refused: bool = False,
) -> list[LineProblem]:
    """What is wrong with the new case review events of one case, given all of its case
    review events (old and new) in effect order. With `application_refused` (an
    application line of the same file was itself refused) a decision is not also refused
    for lacking one: the caseworker fixes the application, not the decision."""
    ordered = list(events)
    new = [item for item in ordered if item.line is not None]
    if case_type == "domestic_abuse":
        return [
            (
                item.line,
                item.event.event_id,
                Problem(
                    "case_id",
                    f"case '{case_id}' is a domestic abuse case: the ASB case review "
                    f"({item.event.TYPE}) applies to ASB cases only",
                ),
            )
            for item in new
            if item.line is not None
        ]
    problems: list[LineProblem] = []
    problems += _decisions(case_id, ordered, settings, application_refused=application_refused)
    problems += _recommendation_ids(case_id, ordered)
    return problems


def _decisions(
    case_id: str,
    ordered: Sequence[ReviewEvent],
    settings: CaseReviewSettings,
    *,
    application_refused: bool,
) -> list[LineProblem]:
    problems: list[LineProblem] = []
    request: CaseReviewRequested | None = None
    for item in ordered:
        event = item.event
        if isinstance(event, CaseReviewRequested):
            request = event
        if not isinstance(event, ThresholdDecided) or item.line is None:
            continue
        if request is None:
            if application_refused:
                continue
            problems.append(
                (
                    item.line,
                    event.event_id,
                    Problem(
                        "at",
                        f"a threshold decision needs an application first: case '{case_id}' "
                        "has no case_review_requested at or before this decision",
                    ),
                )
            )
            continue
        if event.met:
            continue
        counted = qualifying_complaints(request.complaints, request.at, settings.tz)
        if len(counted) >= settings.threshold:
            named = "; ".join(
                describe_complaint(i + 1, request.complaints[i], settings.tz) for i in counted
            )
            problems.append(
                (
                    item.line,
                    event.event_id,
                    Problem(
                        "met",
                        f"the threshold is met, so the decision must be 'met': application "
                        f"'{request.event_id}' has {len(counted)} qualifying complaints "
                        f"(the threshold is {settings.threshold}): {named}",
                    ),
                )
            )
    return problems


def _recommendation_ids(case_id: str, ordered: Sequence[ReviewEvent]) -> list[LineProblem]:
    problems: list[LineProblem] = []
    made: dict[str, str] = {}  # recommendation id -> the event that made it
    for item in ordered:
        event = item.event
        if not isinstance(event, RecommendationsMade):
            continue
        for recommendation in event.recommendations:
            first = made.get(recommendation.id)
            if first is None:
                made[recommendation.id] = event.event_id
            elif item.line is not None and first != event.event_id:
                problems.append(
                    (
                        item.line,
                        event.event_id,
                        Problem(
                            "recommendations",
                            f"recommendation id '{recommendation.id}' is already used on case "
                            f"'{case_id}' (by event '{first}'); give each recommendation its "
                            "own id",
                        ),
                    )
                )
    for item in ordered:
        event = item.event
        if (
            isinstance(event, RecommendationCompleted)
            and item.line is not None
            and event.recommendation_id not in made
        ):
            problems.append(
                (
                    item.line,
                    event.event_id,
                    Problem(
                        "id",
                        f"case '{case_id}' has no recommendation '{event.recommendation_id}' "
                        "(recommendation_completed must name the id of a recommendation made "
                        "on this case)",
                    ),
                )
            )
    return problems


def is_case_review(event_type: str | None) -> bool:
    return event_type in CASE_REVIEW_TYPES
