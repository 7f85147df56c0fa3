"""The ASB case review pages: one case's review (record the application with its
complaints, the decision, the review and its recommendations), the reviews in progress
for a manager, and the published figures for a PSG.

Every step is recorded as a contract event through the same application command as the
other pages, so the importer's checks (the threshold, a decision before an application,
events on a DA case) word any refusal, and nothing is half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from litestar import Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from casewatch.app.commands import RecordEvent
from casewatch.app.errors import InvalidEventError, NotFoundError
from casewatch.app.queries import (
    CaseReview,
    LatestYear,
    ReviewsInProgress,
    ViewCaseReview,
    ViewReport,
)
from casewatch.cases.events import APPLICANTS, INFORMED_STAGES
from casewatch.service.access import Action, Role
from casewatch.service.forms import CASE_REVIEW_STEPS, FormError, case_review_event
from casewatch.service.reporting import render_case_reviews
from casewatch.service.web.api import report_request_of
from casewatch.service.web.page_parts import Form, allowed, form_problems, page, signed_in
from casewatch.service.web.security import AnyRequest, Caller, client_address
from casewatch.service.web.state import service_of

COMPLAINT_ROWS: Final = 6  # rows shown at first; the page adds more
RECOMMENDATION_ROWS: Final = 4


@get("/cases/{case_id:str}/case-review", sync_to_thread=True)
def case_review_page(request: AnyRequest, case_id: FromPath[str]) -> Template:
    service, caller = signed_in(request)
    shown = service.app.handle(ViewCaseReview(caller.who, case_id, client_address(request)))
    return _review_page(request, caller, shown)


def _review_page(
    request: AnyRequest,
    caller: Caller,
    shown: CaseReview,
    *,
    status: int = 200,
    form: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Template:
    settings = service_of(request).runtime.config.case_review
    view, review = shown.view, shown.review
    typed = dict(form or {})
    return page(
        request,
        "case_review.html",
        caller,
        status=status,
        case=view,
        review=review,
        steps=CASE_REVIEW_STEPS,
        applicants=APPLICANTS,
        stages=INFORMED_STAGES,
        threshold=settings.threshold,
        tz=settings.tz,
        complaint_rows=max(COMPLAINT_ROWS, _rows_typed(typed, "complaint")),
        recommendation_rows=max(RECOMMENDATION_ROWS, _rows_typed(typed, "recommendation")),
        form=typed,
        errors=errors or [],
        editable=caller.who.role in {Role.CASEWORKER, Role.MANAGER},
    )


def _rows_typed(form: Mapping[str, str], prefix: str) -> int:
    """The highest row number a re-shown form used, so nothing typed is lost."""
    numbers = [
        int(parts[1])
        for key in form
        if (parts := key.split("-"))[0] == prefix and len(parts) == 3 and parts[1].isdigit()
    ]
    return max(numbers, default=0)


@post("/cases/{case_id:str}/case-review", sync_to_thread=True, status_code=303)
def record_review_step(request: AnyRequest, case_id: FromPath[str], data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    try:
        event = case_review_event(data.get("type", ""), data, service.runtime.config.timezone)
        service.app.handle(RecordEvent(caller.who, case_id, event, client_address(request)))
    except (InvalidEventError, FormError) as exc:
        shown = service.app.handle(ViewCaseReview(caller.who, case_id, client_address(request)))
        return _review_page(
            request, caller, shown, status=422, form=data, errors=form_problems(exc)
        )
    return Redirect(f"/cases/{case_id}/case-review", status_code=303)


@get("/case-reviews", sync_to_thread=True)
def reviews_page(request: AnyRequest) -> Template:
    """A manager's view of every review in progress in their teams, soonest deadline first."""
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_TEAM)
    settings = service.runtime.config.case_review
    now = service.clock()
    rows = service.app.handle(ReviewsInProgress(caller.who, client_address(request)))
    return page(request, "case_reviews.html", caller, rows=rows, now=now, tz=settings.tz)


@get("/reports/case-reviews", sync_to_thread=True)
def review_report_page(request: AnyRequest) -> Response[bytes]:
    """The published figures of a financial year or quarter (default: the current
    financial year), as the page a council puts on its website, or as CSV."""
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_REPORTS)
    query = request.query_params
    fmt = query.get("format") or "html"
    if fmt not in ("html", "csv"):
        raise NotFoundError
    period = query.get("period") or service.app.handle(LatestYear())
    report_request = report_request_of(service, period, None, None, None, None, None, details=False)
    report = service.app.handle(
        ViewReport(
            caller.who,
            report_request,
            client_address(request),
            detail={"report": "case-reviews", "period": period, "format": fmt},
            kind="case-reviews",
        )
    )
    body = render_case_reviews(report, fmt, report_request.period.label)
    media_type = "text/csv; charset=utf-8" if fmt == "csv" else "text/html; charset=utf-8"
    headers = (
        {"content-disposition": f'attachment; filename="{period}-case-reviews.csv"'}
        if fmt == "csv"
        else {}
    )
    return Response(body, media_type=media_type, headers=headers)


def review_router() -> Router:
    handlers = [case_review_page, record_review_step, reviews_page, review_report_page]
    return Router(path="/", route_handlers=handlers, include_in_schema=False)
