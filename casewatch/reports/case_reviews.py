"""`casewatch report case-reviews`: the ASB case review figures a partnership publishes.

The relevant bodies must publish, at least every 12 months, how many applications they
received, how many did not meet the threshold, how many reviews they carried out and how
many resulted in recommendations (Anti-social Behaviour, Crime and Policing Act 2014,
s.104(10)). Each count is of events whose `at` falls in the period (local dates) and is
not after `as_of`. The timeliness of each stage is the `report sla` entry of its policy.

Recommendations are due on a date, not after a target from a start, so they are not SLA
cycles: they are tracked here, open and overdue, by the agency that owns them. The
figures are computed purely from the case review events (`review_figures`); the shell
reads those events and the SLA report.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import Connection, select

from casewatch.cases.events import (
    CASE_REVIEW_TYPES,
    AppealDecided,
    AppealRequested,
    CaseReviewHeld,
    CaseReviewRequested,
    Event,
    RecommendationCompleted,
    RecommendationsMade,
    ThresholdDecided,
)
from casewatch.cases.tables import EventRow
from casewatch.cases.validation import decode_event
from casewatch.engine.policies import PolicyCatalogue
from casewatch.engine.store import Rulesets
from casewatch.reports.counts import Window
from casewatch.reports.sla import period_bounds, sla_report

REVIEW_POLICIES: Final = (
    "asb-review-acknowledgement",
    "asb-review-decision",
    "asb-review-meeting",
    "asb-review-outcome",
)


@attrs.frozen
class AgencyTally:
    agency: str
    made: int
    completed: int
    open: int
    overdue: int


@attrs.frozen
class Figures:
    applications: int
    threshold_not_met: int
    reviews_held: int
    reviews_with_recommendations: int
    made: int
    completed: int
    open: int
    overdue: int
    appeals_requested: int
    appeals_upheld: int
    by_agency: tuple[AgencyTally, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "applications": self.applications,
            "threshold_not_met": self.threshold_not_met,
            "reviews_held": self.reviews_held,
            "reviews_with_recommendations": self.reviews_with_recommendations,
            "recommendations": {
                "made": self.made,
                "completed": self.completed,
                "open": self.open,
                "overdue": self.overdue,
            },
            "appeals": {"requested": self.appeals_requested, "upheld": self.appeals_upheld},
        }


def review_figures(histories: Iterable[Sequence[Event]], window: Window) -> Figures:
    """The figures from each case's case review events, in effect order. Events after
    `as_of` are ignored here too, whatever the caller passed."""
    tally = _Tally(window.as_of.astimezone(window.tz).date())
    for history in histories:
        events = [e for e in history if e.at <= window.as_of]
        completed = _completions(events)
        for position, event in enumerate(events):
            if window.holds(event.at):
                tally.count(event, events, position, completed)
    return tally.figures()


class _Tally:
    """Counts as events are met; one per report."""

    def __init__(self, as_of_day: date) -> None:
        self.as_of_day = as_of_day
        self.counts: dict[str, int] = defaultdict(int)
        self.agencies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def count(
        self, event: Event, events: Sequence[Event], position: int, completed: Mapping[str, str]
    ) -> None:
        match event:
            case CaseReviewRequested():
                self.counts["applications"] += 1
            case ThresholdDecided(met=False):
                self.counts["threshold_not_met"] += 1
            case CaseReviewHeld():
                self.counts["reviews_held"] += 1
                self.counts["reviews_with_recommendations"] += int(
                    _recommendations_follow(events, position)
                )
            case RecommendationsMade():
                for recommendation in event.recommendations:
                    agency = self.agencies[recommendation.agency]
                    agency["made"] += 1
                    if recommendation.id not in completed:
                        agency["open"] += 1
                        agency["overdue"] += int(_overdue(recommendation.due, self.as_of_day))
            case RecommendationCompleted() if (
                completed.get(event.recommendation_id) == event.event_id
            ):
                self.counts["completed"] += 1
                self.agencies[_agency_of(events, event.recommendation_id)]["completed"] += 1
            case AppealRequested():
                self.counts["appeals_requested"] += 1
            case AppealDecided(upheld=True):
                self.counts["appeals_upheld"] += 1
            case _:
                pass

    def figures(self) -> Figures:
        counts = self.counts
        by_agency = tuple(
            AgencyTally(
                agency=name,
                made=tally["made"],
                completed=tally["completed"],
                open=tally["open"],
                overdue=tally["overdue"],
            )
            for name, tally in sorted(self.agencies.items())
        )
        return Figures(
            applications=counts["applications"],
            threshold_not_met=counts["threshold_not_met"],
            reviews_held=counts["reviews_held"],
            reviews_with_recommendations=counts["reviews_with_recommendations"],
            made=sum(t.made for t in by_agency),
            completed=counts["completed"],
            open=sum(t.open for t in by_agency),
            overdue=sum(t.overdue for t in by_agency),
            appeals_requested=counts["appeals_requested"],
            appeals_upheld=counts["appeals_upheld"],
            by_agency=by_agency,
        )


def _overdue(due: date, as_of_day: date) -> bool:
    """Due on its date: overdue from the day after."""
    return as_of_day > due


def _completions(events: Sequence[Event]) -> dict[str, str]:
    """Recommendation id -> the event that first completed it (a repeat counts once)."""
    first: dict[str, str] = {}
    for event in events:
        if isinstance(event, RecommendationCompleted):
            first.setdefault(event.recommendation_id, event.event_id)
    return first


def _agency_of(events: Sequence[Event], recommendation_id: str) -> str:
    for event in events:
        if isinstance(event, RecommendationsMade):
            for recommendation in event.recommendations:
                if recommendation.id == recommendation_id:
                    return recommendation.agency
    return "unknown"  # the importer refuses a completion of an unknown id; kept total


def _recommendations_follow(events: Sequence[Event], position: int) -> bool:
    """A recommendations_made with at least one recommendation after this review and
    before the case's next review (which would own its own recommendations)."""
    for event in events[position + 1 :]:
        if isinstance(event, CaseReviewHeld):
            return False
        if isinstance(event, RecommendationsMade) and event.recommendations:
            return True
    return False


# -- the shell ------------------------------------------------------------------------


def load_review_histories(
    conn: Connection, as_of: datetime, case_ids: Sequence[str] | None = None
) -> dict[str, list[Event]]:
    """Each case's case review events up to `as_of`, in effect order (every case's, or
    those of `case_ids`). Applications are few (tens a year in a partnership), so they
    are read whole."""
    query = (
        select(EventRow.case_id, EventRow.payload, EventRow.derived)
        .where(EventRow.type.in_(sorted(CASE_REVIEW_TYPES)), EventRow.at <= as_of)
        .order_by(EventRow.case_id, EventRow.at, EventRow.import_id, EventRow.line)
    )
    if case_ids is not None:
        query = query.where(EventRow.case_id.in_(list(case_ids)))
    histories: dict[str, list[Event]] = defaultdict(list)
    for case_id, payload, derived in conn.execute(query):
        histories[case_id].append(decode_event(_json(payload), _json(derived)))
    return histories


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def case_review_report(
    conn: Connection,
    *,
    policies: PolicyCatalogue,
    rulesets: Rulesets,
    date_from: date,
    date_to: date,
    as_of: datetime,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The contract's JSON, plus `by_agency` under the key the renderings read (removed
    from the JSON the command prints: see `public_json`)."""
    start, end = period_bounds(date_from, date_to, tz)
    histories = load_review_histories(conn, as_of).values()
    figures = review_figures(histories, Window(start, end, as_of, tz))
    sla = sla_report(
        conn,
        policies=policies,
        rulesets=rulesets,
        date_from=date_from,
        date_to=date_to,
        as_of=as_of,
        tz=tz,
    )
    stages = [entry for entry in sla["slas"] if entry["policy"] in REVIEW_POLICIES]
    return {
        "from": sla["from"],
        "to": sla["to"],
        "as_of": sla["as_of"],
        **figures.as_json(),
        "stages": stages,
        "by_agency": [attrs.asdict(t) for t in figures.by_agency],
    }


def public_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of the contract, exactly: the renderings' extras left out."""
    return {k: v for k, v in report.items() if k != "by_agency"}


# -- reviews in progress: the manager's view and the case page ------------------------

STAGE_NAMES: Final = {
    "asb-review-acknowledgement": "awaiting acknowledgement",
    "asb-review-decision": "awaiting the threshold decision",
    "asb-review-meeting": "awaiting the review meeting",
    "asb-review-outcome": "awaiting the outcome letter",
}


@attrs.frozen
class OpenCycle:
    """A running or paused cycle of a case review policy."""

    policy: str
    due_at: datetime
    paused: bool = False


@attrs.frozen
class RecommendationState:
    id: str
    agency: str
    action: str
    due: date
    completed: bool
    overdue: bool


@attrs.frozen
class Progress:
    """Where one case's review stands and what falls due next."""

    case_id: str
    requested_at: datetime | None
    stage: str
    next_deadline: datetime | date | None
    next_step: str | None
    recommendations: tuple[RecommendationState, ...]

    @property
    def in_progress(self) -> bool:
        return self.next_deadline is not None

    @property
    def overdue_recommendations(self) -> int:
        return sum(1 for r in self.recommendations if r.overdue)


def review_progress(
    case_id: str,
    events: Sequence[Event],
    cycles: Sequence[OpenCycle],
    as_of: datetime,
    tz: ZoneInfo,
) -> Progress:
    """The stage of the soonest open stage cycle, else of open recommendations, else the
    last thing that happened; the next deadline is the soonest of both."""
    today = as_of.astimezone(tz).date()
    seen = [e for e in events if e.at <= as_of]
    completed = _completions(seen)
    recommendations = tuple(
        RecommendationState(
            id=r.id,
            agency=r.agency,
            action=r.action,
            due=r.due,
            completed=r.id in completed,
            overdue=r.id not in completed and _overdue(r.due, today),
        )
        for e in seen
        if isinstance(e, RecommendationsMade)
        for r in e.recommendations
    )
    requests = [e.at for e in seen if isinstance(e, CaseReviewRequested)]
    open_cycles = sorted(cycles, key=lambda c: c.due_at)
    pending = sorted((r for r in recommendations if not r.completed), key=lambda r: r.due)
    deadline: datetime | date | None = None
    step: str | None = None
    if open_cycles:
        first = open_cycles[0]
        stage = STAGE_NAMES.get(first.policy, first.policy) + (" (paused)" if first.paused else "")
        deadline, step = first.due_at, STAGE_NAMES.get(first.policy, first.policy)
    elif pending:
        stage = "recommendations open"
    else:
        stage = _last_step(seen)
    if pending and (deadline is None or _as_day(deadline, tz) > pending[0].due):
        deadline, step = pending[0].due, f"recommendation {pending[0].id} ({pending[0].agency})"
    return Progress(
        case_id=case_id,
        requested_at=requests[-1] if requests else None,
        stage=stage,
        next_deadline=deadline,
        next_step=step,
        recommendations=recommendations,
    )


def _as_day(moment: datetime | date, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date() if isinstance(moment, datetime) else moment


def _last_step(events: Sequence[Event]) -> str:
    for event in reversed(events):
        match event:
            case ThresholdDecided(met=False):
                return "threshold not met"
            case AppealDecided():
                return "appeal decided"
            case AppealRequested():
                return "appeal requested"
            case RecommendationsMade() | CaseReviewHeld():
                return "review done"
            case _:
                continue
    return "no application"
