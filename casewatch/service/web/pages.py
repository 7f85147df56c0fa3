"""The server-rendered pages: sign-in, cases, assessments, alerts, team and PSG reports.

Every form posts back to the page that shows it; a rejected form is shown again with what
was typed and the validator's words beside it. Successful posts redirect (post/redirect/
get), so a reload never records an event twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from casewatch.app.case_list import CaseFilters
from casewatch.app.commands import (
    AcknowledgeAlert,
    AddUser,
    OpenCase,
    RecordEvent,
    RefuseSignIn,
    ShareCase,
    SignedIn,
    SignIn,
    SignOut,
)
from casewatch.app.errors import InvalidEventError, NotFoundError
from casewatch.app.queries import (
    CountInbox,
    Inbox,
    ListCases,
    ListUsers,
    ViewAudit,
    ViewCase,
    ViewReport,
    ViewTeam,
)
from casewatch.cases.events import CASE_TYPES, CONTACT_METHODS, REFERRAL_TARGETS, RISK_LEVELS
from casewatch.engine.policies import TARGET_KINDS
from casewatch.reports.periods import quarter_note, year_to_date
from casewatch.reports.whatif import GROUPINGS as WHATIF_GROUPINGS
from casewatch.service import accounts, two_factor
from casewatch.service.access import ROLES, Action, CaseScope, Role, can_share_case
from casewatch.service.forms import (
    RECORDABLE,
    FormError,
    asb_event,
    dash_event,
    opening_event,
    recorded_event,
)
from casewatch.service.reporting import render
from casewatch.service.views import CaseView
from casewatch.service.web.api import report_request_of
from casewatch.service.web.oidc_pages import sign_in_options
from casewatch.service.web.page_parts import (
    Form,
    allowed,
    download,
    form_problems,
    page,
    report_query,
    signed_in,
)
from casewatch.service.web.security import (
    LOGIN_COOKIE,
    LOGIN_FORM_EXPIRED,
    SESSION_COOKIE,
    AnyRequest,
    Caller,
    client_address,
    login_cookie,
    login_form_genuine,
    login_form_token,
    session_cookie,
)
from casewatch.service.web.state import service_of
from casewatch.service.web.two_factor_pages import PAGE as ENROLMENT_PAGE

HOME: Final = {
    Role.CASEWORKER: "/cases",
    Role.MANAGER: "/team",
    Role.PSG: "/reports",
    Role.ADMIN: "/admin/users",
}
DOWNLOADS: Final = {
    "csv": ("text/csv", "sla.csv"),  # the framework adds "; charset=utf-8" to text/*
    "html": ("text/html", "report.html"),
    "png": ("image/png", "sla-by-quarter.png"),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "report.xlsx",
    ),
}


# -- signing in and out ---------------------------------------------------------------


@get("/", sync_to_thread=True)
def home(request: AnyRequest) -> Redirect:
    caller = service_of(request).caller(request)
    return Redirect(HOME[caller.who.role] if caller else "/login")


@get("/login", sync_to_thread=False)
def login_form(request: AnyRequest) -> Template:
    next_path = request.query_params.get("next", "/")
    return _login_page(request, next=next_path, **sign_in_options(request))


def _login_page(request: AnyRequest, status: int = 200, **context: Any) -> Template:
    """The sign-in form with a fresh login CSRF token, in the form and in its cookie."""
    token = login_form_token()
    template = page(request, "login.html", None, status=status, csrf=token, **context)
    template.set_cookie(login_cookie(request, token))
    return template


@post("/login", sync_to_thread=True, status_code=303)
def login(request: AnyRequest, data: Form) -> Response[Any]:
    service = service_of(request)
    username, password = data.get("username", "").strip(), data.get("password", "")
    target = _safe_next(data.get("next", "/"))
    address = client_address(request)
    if not service.runtime.config.sign_in.local_passwords:  # nobody can sign in here
        return _passwords_off(request, username, address)
    if not login_form_genuine(request, data):
        return _login_page(
            request,
            status=403,
            error=LOGIN_FORM_EXPIRED,
            username=username,
            next=target,
            **sign_in_options(request),
        )
    outcome = service.app.handle(
        SignIn(username, password, code=data.get("code", ""), address=address)
    )
    if not isinstance(outcome, SignedIn):
        message = (
            "Too many failed sign-ins. Wait 15 minutes, then try again."
            if outcome.throttled
            else "The username, password or code is not right."
        )
        return _login_page(
            request,
            status=429 if outcome.throttled else 401,
            error=message,
            username=username,
            next=target,
            **sign_in_options(request),
        )
    who, token, stage = outcome.who, outcome.token, outcome.stage
    if stage == two_factor.ENROL:
        target = ENROLMENT_PAGE
    elif target == "/":
        target = HOME[who.role]
    response: Response[Any] = Redirect(target, status_code=303)
    response.set_cookie(
        session_cookie(request, token, int(accounts.SESSION_LIFETIME.total_seconds()))
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: AnyRequest, data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    token = request.cookies.get(SESSION_COOKIE, "")
    service.app.handle(SignOut(caller.who, token, client_address(request)))
    response: Response[Any] = Redirect("/login?signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _passwords_off(request: AnyRequest, username: str, address: str) -> Template:
    """This deployment signs people in through its identity provider only."""
    refusal = RefuseSignIn(username, address, {"reason": "local_passwords_off"})
    service_of(request).app.handle(refusal)
    return _login_page(
        request, status=403, next="/", **sign_in_options(request),
        error="Signing in with a password is switched off here: use the button below.",
    )  # fmt: skip


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect to somewhere else."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- cases ----------------------------------------------------------------------------


@get("/cases", sync_to_thread=True)
def cases_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.LIST_CASES)
    query = request.query_params
    mine = query.get("mine", "1" if caller.who.role is Role.CASEWORKER else "0") == "1"
    due = query.get("due_within_days", "")
    filters = CaseFilters(
        team=query.get("team") or None,
        risk=query.get("risk") if query.get("risk") in RISK_LEVELS else None,
        flag=query.get("flag") or None,
        due_within_days=int(due) if due.isdigit() else None,
        breached=True if query.get("breached") == "1" else None,
        status=None if query.get("status") == "all" else (query.get("status") or "open"),
        caseworker=caller.who.username if mine else None,
        limit=200,
    )
    listed = service.app.handle(ListCases(caller.who, filters, client_address(request)))
    return page(
        request,
        "cases.html",
        caller,
        cases=listed.cases,
        total=listed.total,
        filters=filters,
        mine=mine,
        now=service.clock(),
        risk_levels=RISK_LEVELS,
    )


@get("/cases/new", sync_to_thread=True)
def new_case_form(request: AnyRequest) -> Template:
    _service, caller = signed_in(request)
    allowed(caller, Action.OPEN_CASE)
    return page(request, "case_new.html", caller, form={}, errors=[], case_types=CASE_TYPES)


@post("/cases/new", sync_to_thread=True, status_code=303)
def open_case(request: AnyRequest, data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    allowed(caller, Action.OPEN_CASE)
    try:
        body = opening_event(data, service.runtime.config.timezone)
        view = service.app.handle(OpenCase(caller.who, body, client_address(request)))
    except (InvalidEventError, FormError) as exc:
        return page(
            request,
            "case_new.html",
            caller,
            status=422,
            form=data,
            errors=form_problems(exc),
            case_types=CASE_TYPES,
        )
    return Redirect(f"/cases/{view.case_id}", status_code=303)


@get("/cases/{case_id:str}", sync_to_thread=True)
def case_page(request: AnyRequest, case_id: FromPath[str]) -> Template:
    service, caller = signed_in(request)
    view = service.app.handle(ViewCase(caller.who, case_id, client_address(request)))
    return _case_page(request, caller, view)


def _case_page(
    request: AnyRequest,
    caller: Caller,
    view: CaseView,
    *,
    status: int = 200,
    form: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Template:
    service = service_of(request)
    policies = [
        p for p in service.runtime.config.policies.policies if view.case_type in p.case_types
    ]
    return page(
        request,
        "case.html",
        caller,
        status=status,
        case=view,
        case_policies=policies,
        recordable=RECORDABLE,
        contact_methods=CONTACT_METHODS,
        referral_targets=REFERRAL_TARGETS,
        form=form or {},
        errors=errors or [],
        now=service.clock(),
        editable=caller.who.role in {Role.CASEWORKER, Role.MANAGER},
        shareable=can_share_case(
            caller.who, CaseScope(view.case_id, team=view.team, caseworker=view.caseworker)
        ),
    )


@post("/cases/{case_id:str}/events", sync_to_thread=True, status_code=303)
def record_event(request: AnyRequest, case_id: FromPath[str], data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    kind = data.get("type", "")
    try:
        event = recorded_event(kind, data, service.runtime.config.timezone)
        service.app.handle(RecordEvent(caller.who, case_id, event, client_address(request)))
    except (InvalidEventError, FormError) as exc:
        view = service.app.handle(ViewCase(caller.who, case_id, client_address(request)))
        return _case_page(request, caller, view, status=422, form=data, errors=form_problems(exc))
    return Redirect(f"/cases/{case_id}#timeline", status_code=303)


@post("/cases/{case_id:str}/shares", sync_to_thread=True, status_code=303)
def share_case(request: AnyRequest, case_id: FromPath[str], data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    agency = data.get("agency", "").strip()
    if not agency or len(agency) > 100:
        view = service.app.handle(ViewCase(caller.who, case_id, client_address(request)))
        problem = {"field": "agency", "error": "'agency' must be 1-100 characters"}
        return _case_page(request, caller, view, status=422, form=data, errors=[problem])
    service.app.handle(ShareCase(caller.who, case_id, agency, client_address(request)))
    return Redirect(f"/cases/{case_id}", status_code=303)


@get("/cases/{case_id:str}/assess/{matrix:str}", sync_to_thread=True)
def assessment_form(request: AnyRequest, case_id: FromPath[str], matrix: FromPath[str]) -> Template:
    service, caller = signed_in(request)
    view = service.app.handle(ViewCase(caller.who, case_id, client_address(request)))
    return _assessment_page(request, caller, view, matrix)


def _assessment_page(
    request: AnyRequest,
    caller: Caller,
    view: CaseView,
    matrix: str,
    *,
    status: int = 200,
    form: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Template:
    matrices = service_of(request).runtime.config.matrices
    if matrix not in ("dash", "asb"):
        raise NotFoundError
    return page(
        request,
        f"assess_{matrix}.html",
        caller,
        status=status,
        case=view,
        dash=matrices.dash,
        asb=matrices.asb,
        form=form or {},
        errors=errors or [],
        risk_levels=RISK_LEVELS,
    )


@post("/cases/{case_id:str}/assess/{matrix:str}", sync_to_thread=True, status_code=303)
def assess(
    request: AnyRequest, case_id: FromPath[str], matrix: FromPath[str], data: Form
) -> Response[Any]:
    service, caller = signed_in(request, data)
    config = service.runtime.config
    build = {"dash": dash_event, "asb": asb_event}.get(matrix)
    if build is None:
        raise NotFoundError
    try:
        event = build(data, config.matrices, config.timezone)
        service.app.handle(RecordEvent(caller.who, case_id, event, client_address(request)))
    except (InvalidEventError, FormError) as exc:
        view = service.app.handle(ViewCase(caller.who, case_id, client_address(request)))
        return _assessment_page(
            request, caller, view, matrix, status=422, form=data, errors=form_problems(exc)
        )
    return Redirect(f"/cases/{case_id}", status_code=303)


# -- alerts and the team --------------------------------------------------------------


@get("/alerts", sync_to_thread=True)
def alerts_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_ALERTS)
    show_all = request.query_params.get("all") == "1"
    alerts = service.app.handle(Inbox(caller.who, include_acknowledged=show_all))
    total = service.app.handle(CountInbox(caller.who, include_acknowledged=show_all))
    return page(request, "alerts.html", caller, alerts=alerts, total=total, show_all=show_all)


@post("/alerts/{alert_id:int}/acknowledge", sync_to_thread=True, status_code=303)
def acknowledge(request: AnyRequest, alert_id: FromPath[int], data: Form) -> Redirect:
    service, caller = signed_in(request, data)
    service.app.handle(AcknowledgeAlert(caller.who, alert_id, client_address(request)))
    return Redirect("/alerts", status_code=303)


@get("/team", sync_to_thread=True)
def team_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_TEAM)
    summary = service.app.handle(ViewTeam(caller.who, client_address(request)))
    return page(request, "team.html", caller, summary=summary, now=service.clock())


# -- reports --------------------------------------------------------------------------


@get("/reports", sync_to_thread=True)
def reports_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_REPORTS)
    chosen, why = report_query(request, service)
    report_request = report_request_of(
        service, chosen["period"], None, None, None, chosen["by"], "previous", details=True
    )
    report = service.app.handle(
        ViewReport(caller.who, report_request, client_address(request), detail=chosen)
    )
    return page(
        request,
        "reports.html",
        caller,
        report=report,
        chosen=chosen,
        query=urlencode({k: v for k, v in chosen.items() if v}),
        downloads=DOWNLOADS,
        why=why,
        trend=year_to_date(report_request.period),
        quarter_note=quarter_note(),
        whatif_kinds=TARGET_KINDS,
        whatif_groupings=WHATIF_GROUPINGS,
    )


@get("/reports/download/{fmt:str}", sync_to_thread=True)
def report_download(request: AnyRequest, fmt: FromPath[str]) -> Response[bytes]:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_REPORTS)
    if fmt not in DOWNLOADS:
        raise NotFoundError
    chosen, _why = report_query(request, service)
    report_request = report_request_of(
        service,
        chosen["period"],
        None,
        None,
        None,
        chosen["by"],
        "previous",
        details=fmt in ("html", "xlsx"),
        quarters=fmt in ("html", "png", "xlsx"),
    )
    inline = request.query_params.get("inline") == "1"
    report = service.app.handle(
        ViewReport(
            caller.who,
            report_request,
            client_address(request),
            action="report.download",
            detail={**chosen, "format": fmt},
            # the report page's own chart: the page's view is audited already
            audited=not (inline and fmt == "png"),
        )
    )
    body = render(report, chosen["by"], fmt)
    media_type, name = DOWNLOADS[fmt]
    return download(body, media_type, f"{chosen['period']}-{name}", inline=inline)


# -- administration -------------------------------------------------------------------


@get("/admin/users", sync_to_thread=True)
def users_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.MANAGE_USERS)
    users = service.app.handle(ListUsers(caller.who))
    return page(request, "users.html", caller, users=users, roles=ROLES, form={}, error=None)


@post("/admin/users", sync_to_thread=True, status_code=303)
def add_user(request: AnyRequest, data: Form) -> Response[Any]:
    service, caller = signed_in(request, data)
    allowed(caller, Action.MANAGE_USERS)
    command = AddUser(
        caller.who,
        username=data.get("username", ""),
        display_name=data.get("display_name", ""),
        role=data.get("role", ""),
        agency=data.get("agency", ""),
        teams=data.get("teams", "").split(","),
        password=data.get("password", ""),
        address=client_address(request),
    )
    try:
        service.app.handle(command)
    except accounts.AccountError as exc:
        users = service.app.handle(ListUsers(caller.who))
        kept = {k: v for k, v in data.items() if k != "password"}
        return page(
            request,
            "users.html",
            caller,
            status=422,
            users=users,
            roles=ROLES,
            form=kept,
            error=str(exc),
        )
    return Redirect("/admin/users", status_code=303)


@get("/admin/audit", sync_to_thread=True)
def audit_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_AUDIT)
    case_id = request.query_params.get("case_id") or None
    username = request.query_params.get("username") or None
    rows = service.app.handle(ViewAudit(caller.who, case_id=case_id, username=username, limit=500))
    return page(request, "audit.html", caller, rows=rows, case_id=case_id, username=username)


def pages_router() -> Router:
    """The pages are for browsers: they stay out of the API's OpenAPI document."""
    handlers = [
        home,
        login_form,
        login,
        logout,
        cases_page,
        new_case_form,
        open_case,
        case_page,
        record_event,
        share_case,
        assessment_form,
        assess,
        alerts_page,
        acknowledge,
        team_page,
        reports_page,
        report_download,
        users_page,
        add_user,
        audit_page,
    ]
    return Router(path="/", route_handlers=handlers, include_in_schema=False)
