"""Two-factor sign-in on the pages: the step after a right password, and the enrolment page.

Someone whose role must use two-factor (settings.yaml `sign_in.two_factor_required_for`)
and has not set it up gets, after a right password, a session that opens this page only;
once a code from their app is confirmed it is replaced by a full session. Anyone else may
set it up here from a full session. API tokens never meet any of this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from litestar import Response, Router, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import Connection, func, select

from casewatch.service import accounts, audit, two_factor
from casewatch.service.access import Principal
from casewatch.service.tables import LoginAttemptRow
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


def after_password(
    conn: Connection,
    who: Principal,
    *,
    code: str,
    required_roles: frozenset[str],
    address: str,
    now: datetime,
) -> str | None:
    """The stage of the session to start once the password was right, or None when the
    person uses two-factor and the code is missing or wrong (counted as a failed sign-in)."""
    if two_factor.enrolled(conn, who.user_id):
        if two_factor.verify(conn, who.user_id, code, now) is None:
            two_factor.record_failure(conn, who.username, address, now)
            return None
        return two_factor.FULL
    return two_factor.ENROL if who.role in required_roles else two_factor.FULL


def _session(request: AnyRequest) -> tuple[Caller, bool] | None:
    """The caller of a live session at either stage, and whether it is a full one."""
    service = service_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    now = service.clock()
    with service.runtime.engine.connect() as conn, conn.begin():
        found = two_factor.enrolment_session(conn, token, now)
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
    service = service_of(request)
    with service.runtime.engine.connect() as conn, conn.begin():
        if two_factor.enrolled(conn, caller.who.user_id):
            left = two_factor.recovery_codes_left(conn, caller.who.user_id)
            return _page(request, caller, full, enrolled=True, codes_left=left)
        secret = two_factor.pending_secret(conn, caller.who.user_id)
    return _enrol_form(request, caller, full, secret)


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
    service = service_of(request)
    now, address, who = service.clock(), client_address(request), caller.who
    with service.runtime.engine.connect() as conn, conn.begin():
        error: str | None = None
        if _throttled(conn, who.username, address, now):
            codes, error = None, THROTTLED
        else:
            codes = two_factor.confirm_enrolment(conn, who.user_id, data.get("code", ""), now)
            if codes is None:
                error = WRONG_CODE
        if codes is None:
            two_factor.record_failure(conn, who.username, address, now)
            audit.record(conn, who, "user.two_factor_refused", now=now, address=address)
            secret = two_factor.pending_secret(conn, who.user_id)
        else:
            accounts.end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
            accounts.clear_failures(conn, who.username)
            token, csrf = accounts.start_session(conn, who.user_id, now)
            audit.record(conn, who, "user.two_factor_enrolled", now=now, address=address)
    if codes is None:
        return _enrol_form(request, caller, full, secret, status=400, error=error)
    response = _page(
        request, Caller(who, csrf), True, enrolled=True, recovery_codes=codes, codes_left=len(codes)
    )
    response.set_cookie(
        session_cookie(request, token, int(accounts.SESSION_LIFETIME.total_seconds()))
    )
    return response


def _throttled(conn: Connection, username: str, address: str, now: datetime) -> bool:
    since = now - accounts.THROTTLE_WINDOW
    failures = select(func.count()).select_from(LoginAttemptRow).where(LoginAttemptRow.at >= since)
    by_user = conn.execute(failures.where(LoginAttemptRow.username == username)).scalar_one()
    by_address = conn.execute(failures.where(LoginAttemptRow.address == address)).scalar_one()
    return (
        by_user >= accounts.MAX_FAILURES_PER_USER or by_address >= accounts.MAX_FAILURES_PER_ADDRESS
    )


def two_factor_router() -> Router:
    return Router(path="/", route_handlers=[enrolment_page, confirm], include_in_schema=False)
