"""The ASB case review pages: one case's review (record the application with its
complaints, the decision, the review and its recommendations), the reviews in progress
for a manager, and the published figures for a PSG.

Every step is recorded as a contract event through the same casework service as the
other pages, so the importer's checks (the threshold, a decision before an application,
events on a DA case) word any refusal, and nothing is half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from litestar import Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from casewatch.cases.events import APPLICANTS, INFORMED_STAGES
from casewatch.cases.tables import EventRow
from casewatch.reports.periods import financial_year, fy_of
from casewatch.service import audit
from casewatch.service.access import Action, Role
from casewatch.service.case_reviews import case_review_of, reviews_in_progress
from casewatch.service.casework import InvalidEventError, NotFoundError
from casewatch.service.forms import CASE_REVIEW_STEPS, FormError, case_review_event
from casewatch.service.reporting import build_case_review_report, render_case_reviews
from casewatch.service.views import CaseView
from casewatch.service.web.api import report_request_of
from casewatch.service.web.page_parts import Form, allowed, form_problems, page, signed_in
from casewatch.service.web.security import AnyRequest, Caller, client_address
from casewatch.service.web.state import Service, service_of

COMPLAINT_ROWS: Final = 6  # rows shown at first; the page adds more
RECOMMENDATION_ROWS: Final = 4


@get("/cases/{case_id:str}/case-review", sync_to_thread=True)
def case_review_page(request: AnyRequest, case_id: FromPath[str]) -> Template:
    service, caller = signed_in(request)
    view = service.casework.view_case(caller.who, case_id, address=client_address(request))
    return _review_page(request, caller, view)


def _review_page(
    request: AnyRequest,
    caller: Caller,
    view: CaseView,
    *,
    status: int = 200,
    form: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Template:
    if view.case_type != "asb":
        raise NotFoundError  # the ASB case review applies to ASB cases only
    service = service_of(request)
    settings = service.runtime.config.case_review
    with service.runtime.engine.connect() as conn:
        review = case_review_of(conn, view.case_id, service.clock(), settings)
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
        service.casework.record_event(caller.who, case_id, event, address=client_address(request))
    except (InvalidEventError, FormError) as exc:
        view = service.casework.view_case(caller.who, case_id, address=client_address(request))
        return _review_page(request, caller, view, status=422, form=data, errors=form_problems(exc))
    return Redirect(f"/cases/{case_id}/case-review", status_code=303)


@get("/case-reviews", sync_to_thread=True)
def reviews_page(request: AnyRequest) -> Template:
    """A manager's view of every review in progress in their teams, soonest deadline first."""
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_TEAM)
    settings = service.runtime.config.case_review
    now = service.clock()
    with service.runtime.engine.connect() as conn, conn.begin():
        rows = reviews_in_progress(conn, caller.who, now, settings)
        audit.record(
            conn,
            caller.who,
            "case.list",
            now=now,
            address=client_address(request),
            detail={"filters": {"case_reviews": "in progress"}, "cases": len(rows)},
        )
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
    period = query.get("period") or _latest_year(service)
    report_request = report_request_of(service, period, None, None, None, None, None, details=False)
    report = build_case_review_report(service.runtime, report_request)
    with service.runtime.engine.connect() as conn, conn.begin():
        audit.record(
            conn,
            caller.who,
            "report.view",
            now=service.clock(),
            address=client_address(request),
            detail={"report": "case-reviews", "period": period, "format": fmt},
        )
    body = render_case_reviews(report, fmt, report_request.period.label)
    media_type = "text/csv; charset=utf-8" if fmt == "csv" else "text/html; charset=utf-8"
    headers = (
        {"content-disposition": f'attachment; filename="{period}-case-reviews.csv"'}
        if fmt == "csv"
        else {}
    )
    return Response(body, media_type=media_type, headers=headers)


def _latest_year(service: Service) -> str:
    """The financial year of the newest event: this year on a live system."""
    with service.runtime.engine.connect() as conn:
        latest = conn.execute(select(func.max(EventRow.at))).scalar_one_or_none()
    day = (latest or service.clock()).astimezone(service.runtime.config.timezone).date()
    return financial_year(fy_of(day)).label


def review_router() -> Router:
    handlers = [case_review_page, record_review_step, reviews_page, review_report_page]
    return Router(path="/", route_handlers=handlers, include_in_schema=False)
