"""Two-factor sign-in on the pages: the step after a right password, and the enrolment page.

Someone whose role must use two-factor (settings.yaml `sign_in.two_factor_required_for`)
and has not set it up gets, after a right password, a session that opens this page only;
once a code from their app is confirmed it is replaced by a full session. Anyone else may
set it up here from a full session. API tokens never meet any of this.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Response, Router, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from casewatch.app.commands import ConfirmEnrolment, EnrolmentRefused, OpenEnrolment
from casewatch.app.queries import EnrolmentSession
from casewatch.service import accounts, two_factor
from casewatch.service.web.security import (
    SESSION_COOKIE,
    AnyRequest,
    Caller,
    client_address,
    require_csrf,
    session_cookie,
)
from casewatch.service.web.state import service_of

Form = URLEncodedBody[dict[str, str]]
PAGE: Final = "/account/two-factor"
TEMPLATE: Final = "two_factor.html"
WRONG_CODE: Final = (
    "That code is not right, or was already used. Enter the 6-digit code your app shows now."
)
THROTTLED: Final = "Too many wrong codes. Wait 15 minutes, then try again."


def _session(request: AnyRequest) -> tuple[Caller, bool] | None:
    """The caller of a live session at either stage, and whether it is a full one."""
    service = service_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = service.app.handle(EnrolmentSession(token))
    full = service.caller(request) is not None
    return (Caller(found[0], found[1]), full) if found else None


def _page(
    request: AnyRequest, caller: Caller, full: bool, status: int = 200, **context: Any
) -> Template:
    service = service_of(request)
    shown = caller if full else None  # a session still enrolling gets no menu
    return Template(
        TEMPLATE,
        context={
            "caller": shown,
            "who": shown.who if shown else None,
            "csrf": caller.csrf_token,
            "policies": service.runtime.config.policies.policies,
            "path": request.url.path,
            "required": not full,
            **context,
        },
        status_code=status,
    )


@get(PAGE, sync_to_thread=True)
def enrolment_page(request: AnyRequest) -> Response[Any]:
    found = _session(request)
    if found is None:
        return Redirect(f"/login?next={PAGE}")
    caller, full = found
    enrolment = service_of(request).app.handle(OpenEnrolment(caller.who))
    if enrolment.enrolled:
        return _page(request, caller, full, enrolled=True, codes_left=enrolment.codes_left)
    return _enrol_form(request, caller, full, enrolment.secret)


def _enrol_form(
    request: AnyRequest,
    caller: Caller,
    full: bool,
    secret: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> Template:
    uri = two_factor.provisioning_uri(secret, caller.who.username)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return _page(
        request, caller, full, status, enrolled=False, qr=two_factor.qr_svg(uri),
        secret=grouped, error=error,
    )  # fmt: skip


@post(PAGE, sync_to_thread=True, status_code=200)
def confirm(request: AnyRequest, data: Form) -> Response[Any]:
    found = _session(request)
    if found is None:
        return Redirect(f"/login?next={PAGE}", status_code=303)
    caller, full = found
    require_csrf(request, caller, data)
    outcome = service_of(request).app.handle(
        ConfirmEnrolment(
            caller.who,
            data.get("code", ""),
            request.cookies.get(SESSION_COOKIE, ""),
            client_address(request),
        )
    )
    if isinstance(outcome, EnrolmentRefused):
        error = THROTTLED if outcome.throttled else WRONG_CODE
        return _enrol_form(request, caller, full, outcome.secret, status=400, error=error)
    codes, token = outcome.recovery_codes, outcome.token
    response = _page(
        request,
        Caller(caller.who, outcome.csrf),
        True,
        enrolled=True,
        recovery_codes=codes,
        codes_left=len(codes),
    )
    response.set_cookie(
        session_cookie(request, token, int(accounts.SESSION_LIFETIME.total_seconds()))
    )
    return response


def two_factor_router() -> Router:
    return Router(path="/", route_handlers=[enrolment_page, confirm], include_in_schema=False)
