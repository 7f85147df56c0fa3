"""The case review figures and progress, pure: hand-built event lists, no database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from casewatch.cases.events import Event
from casewatch.reports.case_reviews import OpenCycle, review_figures, review_progress
from casewatch.reports.counts import Window
from casewatch.service.config import Config
from tests.builders import ev

LONDON = ZoneInfo("Europe/London")
YEAR = Window(
    datetime(2024, 4, 1, tzinfo=LONDON),
    datetime(2025, 4, 1, tzinfo=LONDON),
    datetime(2025, 6, 30, tzinfo=LONDON),
    LONDON,
)


def events(config: Config, *lines: dict[str, Any]) -> list[Event]:
    validator = config.validator()
    return [validator.validate(line).event for line in lines]


def rec(rec_id: str, agency: str, due: str) -> dict[str, str]:
    return {"id": rec_id, "agency": agency, "action": "a", "due": due}


def test_recommendations_after_the_next_review_belong_to_it(config: Config) -> None:
    """Review 1 is followed by review 2 before any recommendation: only review 2 counts as
    'with recommendations'; an empty list makes no review count."""
    case = events(
        config,
        ev("case_review_held", "C1", "2024-05-01T10:00:00+01:00"),
        ev("recommendations_made", "C1", "2024-05-02T10:00:00+01:00", recommendations=[]),
        ev("case_review_held", "C1", "2024-06-01T10:00:00+01:00"),
        ev("recommendations_made", "C1", "2024-06-02T10:00:00+01:00",
           recommendations=[rec("R1", "Police", "2024-07-01")]),
    )  # fmt: skip
    figures = review_figures([case], YEAR)
    assert (figures.reviews_held, figures.reviews_with_recommendations) == (2, 1)


def test_overdue_from_the_day_after_the_due_date(config: Config) -> None:
    """Due 30 Jun 2025: open but not overdue as of 30 Jun, overdue as of 1 Jul."""
    case = events(
        config,
        ev("recommendations_made", "C1", "2024-06-02T10:00:00+01:00",
           recommendations=[rec("R1", "Police", "2025-06-30"), rec("R2", "Council", "2024-07-01")]),
        ev("recommendation_completed", "C1", "2024-06-20T10:00:00+01:00", id="R2"),
        ev("recommendation_completed", "C1", "2024-06-21T10:00:00+01:00", id="R2"),
    )  # fmt: skip
    on_the_day = review_figures([case], YEAR)
    assert (on_the_day.made, on_the_day.completed, on_the_day.open) == (2, 1, 1)
    assert on_the_day.overdue == 0
    later = Window(YEAR.start, YEAR.end, datetime(2025, 7, 1, tzinfo=LONDON), LONDON)
    assert review_figures([case], later).overdue == 1
    assert [(t.agency, t.completed, t.open) for t in on_the_day.by_agency] == [
        ("Council", 1, 0),
        ("Police", 0, 1),
    ]


def test_progress_names_the_soonest_of_stage_and_recommendation(config: Config) -> None:
    """A recommendation due before the running stage's due time is the next deadline."""
    case = events(
        config,
        ev("recommendations_made", "C1", "2024-06-02T10:00:00+01:00",
           recommendations=[rec("R1", "Police", "2024-06-10")]),
    )  # fmt: skip
    stage = OpenCycle("asb-review-outcome", datetime(2024, 6, 12, 9, tzinfo=LONDON))
    progress = review_progress("C1", case, [stage], datetime(2024, 6, 5, tzinfo=LONDON), LONDON)
    assert progress.stage == "awaiting the outcome letter"
    assert progress.next_deadline == date(2024, 6, 10)
    assert progress.next_step == "recommendation R1 (Police)"
    done = review_progress("C1", case, [], datetime(2024, 6, 5, tzinfo=LONDON), LONDON)
    assert done.stage == "recommendations open"
