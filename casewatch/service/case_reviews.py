"""ASB case reviews as a manager and a caseworker see them: the reviews in progress with
their next deadline, and one case's review. Reads only; access as for case lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, exists, select

from casewatch.app.case_list import visible_cases
from casewatch.cases.case_review import (
    CaseReviewSettings,
    describe_complaint,
    qualifying_complaints,
)
from casewatch.cases.events import CASE_REVIEW_TYPES, CaseReviewRequested
from casewatch.cases.tables import CaseRow, EventRow
from casewatch.engine.tables import SlaCycleRow
from casewatch.reports.case_reviews import (
    REVIEW_POLICIES,
    OpenCycle,
    Progress,
    load_review_histories,
    review_progress,
)
from casewatch.service.access import Principal


@frozen
class ReviewRow:
    """One line of the manager's view: case reference, team and caseworker, never the
    applicant."""

    case_id: str
    team: str | None
    caseworker: str | None
    progress: Progress


def reviews_in_progress(
    conn: Connection, who: Principal, now: datetime, settings: CaseReviewSettings
) -> list[ReviewRow]:
    """Every review the caller may see that has a stage or a recommendation still open,
    soonest deadline first."""
    cases = conn.execute(
        select(CaseRow.case_id, CaseRow.team, CaseRow.caseworker).where(
            visible_cases(who),
            CaseRow.case_type == "asb",
            exists().where(
                EventRow.case_id == CaseRow.case_id, EventRow.type.in_(sorted(CASE_REVIEW_TYPES))
            ),
        )
    ).all()
    ids = [row.case_id for row in cases]
    histories = load_review_histories(conn, now, ids)
    cycles = open_cycles(conn, ids)
    rows = [
        ReviewRow(
            case_id=row.case_id,
            team=row.team,
            caseworker=row.caseworker,
            progress=review_progress(
                row.case_id,
                histories.get(row.case_id, []),
                cycles.get(row.case_id, []),
                now,
                settings.tz,
            ),
        )
        for row in cases
    ]
    live = [r for r in rows if r.progress.in_progress]
    return sorted(live, key=lambda r: (_deadline_key(r.progress, settings), r.case_id))


def open_cycles(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[OpenCycle]]:
    found: dict[str, list[OpenCycle]] = {}
    rows = conn.execute(
        select(
            SlaCycleRow.case_id, SlaCycleRow.policy, SlaCycleRow.due_at, SlaCycleRow.state
        ).where(
            SlaCycleRow.case_id.in_(list(case_ids)),
            SlaCycleRow.policy.in_(REVIEW_POLICIES),
            SlaCycleRow.state.in_(("running", "paused")),
        )
    )
    for case_id, policy, due_at, state in rows:
        found.setdefault(case_id, []).append(OpenCycle(policy, due_at, state == "paused"))
    return found


def _deadline_key(progress: Progress, settings: CaseReviewSettings) -> str:
    deadline = progress.next_deadline
    if isinstance(deadline, datetime):
        return deadline.astimezone(settings.tz).isoformat()
    return deadline.isoformat() if deadline is not None else "~"


def case_review_of(
    conn: Connection, case_id: str, now: datetime, settings: CaseReviewSettings
) -> dict[str, Any]:
    """One case's review for its page: each application with its complaints marked as
    qualifying or not and the threshold worked out, and where the review stands. The
    caller has already checked the case may be seen."""
    events = load_review_histories(conn, now, [case_id]).get(case_id, [])
    progress = review_progress(
        case_id, events, open_cycles(conn, [case_id]).get(case_id, []), now, settings.tz
    )
    return {
        "applications": [
            _application(e, settings) for e in events if isinstance(e, CaseReviewRequested)
        ],
        "events": events,
        "progress": progress,
    }


def _application(request: CaseReviewRequested, settings: CaseReviewSettings) -> dict[str, Any]:
    counted = set(qualifying_complaints(request.complaints, request.at, settings.tz))
    return {
        "event_id": request.event_id,
        "at": request.at,
        "applicant": request.applicant,
        "complaints": [
            {
                "complaint": c,
                "counts": i in counted,
                "words": describe_complaint(i + 1, c, settings.tz),
            }
            for i, c in enumerate(request.complaints)
        ],
        "counted": len(counted),
        "threshold": settings.threshold,
        "met": len(counted) >= settings.threshold,
    }
