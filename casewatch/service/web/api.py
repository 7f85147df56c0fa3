"""The JSON API under /api/v1. Handlers translate HTTP to the application's commands and
queries and back; the access rules, validation and audit live in casewatch.app."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final

from attrs import frozen
from litestar import Router, get, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from casewatch.app.case_list import CaseFilters, CaseSummary
from casewatch.app.commands import AcknowledgeAlert, OpenCase, RecordEvent, ShareCase
from casewatch.app.errors import ForbiddenError, NotFoundError
from casewatch.app.inbox import AlertItem
from casewatch.app.queries import (
    MAX_LISTED,
    AuditEntry,
    Inbox,
    ListCases,
    ViewAudit,
    ViewCase,
    ViewReport,
)
from casewatch.cases.clock import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    TimestampError,
    parse_operator_time,
    within_supported_years,
)
from casewatch.cases.events import RISK_LEVELS
from casewatch.reports.board import COMPARISONS, ReportRequest
from casewatch.reports.periods import PeriodError, choose_period
from casewatch.reports.sla import GROUPINGS
from casewatch.service.access import Action, Principal
from casewatch.service.views import CaseView
from casewatch.service.web.security import AnyRequest, client_address, require_csrf
from casewatch.service.web.state import Service, service_of


@frozen
class FieldErrorBody:
    field: str
    error: str


@frozen
class ErrorBody:
    """Every error the API returns: a sentence for people, field paths for programs."""

    status_code: int
    detail: str
    errors: list[FieldErrorBody] | None = None


@frozen
class Me:
    username: str
    display_name: str
    role: str
    agency: str
    teams: list[str]


@frozen
class ShareRequest:
    agency: str


@frozen
class Shares:
    case_id: str
    shared_with: list[str]


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    meaning = {
        400: "The request is malformed (a bad parameter or body).",
        401: "Not signed in and no valid API token.",
        403: "Your role may not do this, or the CSRF token is missing.",
        404: "No such case or alert, or not one you can see.",
        409: "The case changed at the same moment; send the request again.",
        422: "The event was rejected; `errors` names each field and what is wrong.",
    }
    return {
        code: ResponseSpec(data_container=ErrorBody, description=meaning[code]) for code in codes
    }


_READ: Final = _errors(400, 401, 403, 404)
_WRITE: Final = _errors(400, 401, 403, 404, 409, 422)

# What the API accepts beyond what the types say, so that a request outside it is a 400
# in words, not a database or calendar error: moments and periods within the years the
# event validator accepts (room for SLA arithmetic either side), no NUL in any text
# (PostgreSQL can neither store nor compare it), a bounded page offset.
MAX_OFFSET: Final = 1_000_000
NUL: Final = "\x00"  # in a path or query string, refused for every route (app.py)
NUL_REFUSED: Final = "may not contain the NUL character (U+0000)"


def _caller(request: AnyRequest, *, write: bool = False) -> tuple[Service, Principal, str]:
    service = service_of(request)
    caller = service.signed_in(request)
    if write:
        require_csrf(request, caller)
    return service, caller.who, client_address(request)


def _moment(service: Service, value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parse_operator_time(value, service.runtime.config.timezone)
    except TimestampError as exc:
        raise ValidationException(f"'{name}' {exc}") from None
    if not within_supported_years(moment):
        raise ValidationException(f"'{name}' must fall between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


@get("/me", sync_to_thread=True, responses=_READ, summary="Who the request acts as")
def me(request: AnyRequest) -> Me:
    _service, who, _ = _caller(request)
    return Me(who.username, who.display_name, who.role.value, who.agency, sorted(who.teams))


@get("/cases", sync_to_thread=True, responses=_READ, summary="List cases you can see")
def list_cases(
    request: AnyRequest,
    team: FromQuery[str | None] = None,
    risk: Annotated[
        str | None, QueryParameter(description=f"One of {', '.join(RISK_LEVELS)}.")
    ] = None,
    flag: FromQuery[str | None] = None,
    due_within_days: Annotated[
        int | None,
        # Litestar leaves a falsy bound (ge=0) out of an optional parameter's schema.
        QueryParameter(ge=0, le=3650, schema_extra={"minimum": 0}),
    ] = None,
    breached: FromQuery[bool | None] = None,
    status: Annotated[
        str | None, QueryParameter(description="open (default), closed or all.")
    ] = "open",
    mine: Annotated[bool, QueryParameter(description="Only cases you are the caseworker of.")] = (
        False
    ),
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> list[CaseSummary]:
    service, who, address = _caller(request)
    if risk is not None and risk not in RISK_LEVELS:
        raise ValidationException(f"'risk' must be one of {', '.join(RISK_LEVELS)}")
    if status not in (None, "open", "closed", "all"):
        raise ValidationException("'status' must be open, closed or all")
    filters = CaseFilters(
        team=team,
        risk=risk,
        flag=flag,
        due_within_days=due_within_days,
        breached=breached,
        status=None if status == "all" else status,
        caseworker=who.username if mine else None,
        limit=limit,
        offset=offset,
    )
    return service.app.handle(ListCases(who, filters, address, counted=False)).cases


@post(
    "/cases",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    responses=_WRITE,
    summary="Open a case",
    description="The body is a `case_opened` event of the contract without `type`; "
    "`case_id`, `event_id` and `at` are filled in when left out. `victim.reference` (the "
    "partnership's person reference, 1-64 printable characters) links the victim's cases; "
    "the case view's `other_cases` lists the linked cases you may see.",
)
def open_case(request: AnyRequest, data: JSONBody[dict[str, Any]]) -> CaseView:
    service, who, address = _caller(request, write=True)
    return service.app.handle(OpenCase(who, data, address))


@get("/cases/{case_id:str}", sync_to_thread=True, responses=_READ, summary="One case")
def view_case(
    request: AnyRequest,
    case_id: FromPath[str],
    as_of: Annotated[str | None, QueryParameter(description="ISO date or timestamp.")] = None,
) -> CaseView:
    service, who, address = _caller(request)
    moment = _moment(service, as_of, "as_of")
    return service.app.handle(ViewCase(who, case_id, address, as_of=moment))


@post(
    "/cases/{case_id:str}/events",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    responses=_WRITE,
    summary="Record an event on a case",
    description="Any event type of the contract but `case_opened`, validated exactly as "
    "`casewatch import` validates a line; `event_id` and `at` are filled in when left out. "
    "DASH `answers`: 24 true/false values in the SafeLives Dash checklist's published order "
    "(as config dash.yaml lists them), or an object {question id: true/false} naming every "
    "question. `referral_made` may carry `incident_at`.",
)
def record_event(
    request: AnyRequest, case_id: FromPath[str], data: JSONBody[dict[str, Any]]
) -> CaseView:
    service, who, address = _caller(request, write=True)
    return service.app.handle(RecordEvent(who, case_id, data, address))


@post(
    "/cases/{case_id:str}/shares",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    responses=_WRITE,
    summary="Share a case with another agency",
)
def share_case(request: AnyRequest, case_id: FromPath[str], data: JSONBody[ShareRequest]) -> Shares:
    service, who, address = _caller(request, write=True)
    agency = data.agency.strip()
    if not agency or len(agency) > 100:
        raise ValidationException("'agency' must be 1-100 characters")
    if NUL in agency:
        raise ValidationException(f"'agency' {NUL_REFUSED}")
    shared = service.app.handle(ShareCase(who, case_id, agency, address))
    return Shares(case_id=case_id, shared_with=shared)


@get("/alerts", sync_to_thread=True, responses=_READ, summary="Your alerts inbox")
def alerts(request: AnyRequest, include_acknowledged: FromQuery[bool] = False) -> list[AlertItem]:
    service, who, _ = _caller(request)
    return service.app.handle(Inbox(who, include_acknowledged=include_acknowledged))


@post(
    "/alerts/{alert_id:int}/acknowledge",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    responses=_WRITE,
    summary="Acknowledge an alert",
)
def acknowledge(request: AnyRequest, alert_id: FromPath[int]) -> AlertItem:
    service, who, address = _caller(request, write=True)
    return service.app.handle(AcknowledgeAlert(who, alert_id, address))


@get(
    "/reports/sla",
    sync_to_thread=True,
    responses=_READ,
    summary="The SLA report (contract section 4) with measures",
    description="`period` (2014-Q1, FY2014) or `from` and `to`; as `casewatch report sla`.",
)
def sla_report(
    request: AnyRequest,
    period: FromQuery[str | None] = None,
    date_from: Annotated[date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    as_of: FromQuery[str | None] = None,
    by: Annotated[str | None, QueryParameter(description=f"One of {', '.join(GROUPINGS)}.")] = None,
    compare: Annotated[str | None, QueryParameter(description="previous")] = None,
    details: FromQuery[bool] = False,
) -> dict[str, Any]:
    service, who, address = _caller(request)
    if not who.may(Action.VIEW_REPORTS):  # a 403 before any 400 about the period
        raise ForbiddenError
    report_request = report_request_of(
        service, period, date_from, date_to, as_of, by, compare, details=details
    )
    detail = {"period": report_request.period.label, "by": by, "details": details}
    return service.app.handle(ViewReport(who, report_request, address, detail=detail))


def report_request_of(
    service: Service,
    period: str | None,
    date_from: date | None,
    date_to: date | None,
    as_of: str | None,
    by: str | None,
    compare: str | None,
    *,
    details: bool,
    quarters: bool = False,
) -> ReportRequest:
    """The report a query string asks for (the API's and the report page's)."""
    out_of_range = ValidationException(
        f"the period must fall between {EARLIEST_YEAR} and {LATEST_YEAR}"
    )
    try:
        chosen = choose_period(period, date_from, date_to)
    except PeriodError as exc:
        raise ValidationException(str(exc)) from None
    except (ValueError, OverflowError):  # FY9999 is well formed but its end is not a date
        raise out_of_range from None
    if chosen.first.year < EARLIEST_YEAR or chosen.last.year > LATEST_YEAR:
        raise out_of_range
    if by is not None and by not in GROUPINGS:
        raise ValidationException(f"'by' must be one of {', '.join(GROUPINGS)}")
    if compare is not None and compare not in COMPARISONS:
        raise ValidationException(f"'compare' must be one of {', '.join(COMPARISONS)}")
    return ReportRequest(
        period=chosen,
        as_of=_moment(service, as_of, "as_of") or service.clock(),
        by=by,
        compare=compare,
        details=details,
        quarters=quarters,
    )


@get("/audit", sync_to_thread=True, responses=_READ, summary="The audit log (admins)")
def audit_log(
    request: AnyRequest,
    case_id: FromQuery[str | None] = None,
    username: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LISTED)] = 200,
) -> list[AuditEntry]:
    service, who, _ = _caller(request)
    return service.app.handle(ViewAudit(who, case_id=case_id, username=username, limit=limit))


# OpenAPI security schemes (declared in app.py) and what each operation needs: an API
# token, or a browser session, whose unsafe requests also carry the session's CSRF token.
BEARER_SCHEME: Final = "apiToken"
SESSION_SCHEME: Final = "sessionCookie"
CSRF_SCHEME: Final = "csrfToken"
Requirement = dict[str, list[str]]
READ_SECURITY: Final[tuple[Requirement, ...]] = ({BEARER_SCHEME: []}, {SESSION_SCHEME: []})
WRITE_SECURITY: Final[tuple[Requirement, ...]] = (
    {BEARER_SCHEME: []},
    {SESSION_SCHEME: [], CSRF_SCHEME: []},
)
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def api_router() -> Router:
    handlers = [
        me,
        list_cases,
        open_case,
        view_case,
        record_event,
        share_case,
        alerts,
        acknowledge,
        sla_report,
        audit_log,
    ]
    for handler in handlers:  # every operation, whoever adds it, by its method
        unsafe = handler.http_methods & _UNSAFE
        handler.security = [dict(r) for r in (WRITE_SECURITY if unsafe else READ_SECURITY)]
    return Router(path="/api/v1", route_handlers=handlers, tags=["casewatch"])


__all__ = [
    "BEARER_SCHEME",
    "CSRF_SCHEME",
    "NUL",
    "NUL_REFUSED",
    "SESSION_SCHEME",
    "ErrorBody",
    "FieldErrorBody",
    "NotFoundError",
    "api_router",
]
