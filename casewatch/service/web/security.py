"""Who is asking: the session cookie of a browser, or the bearer token of an integration.

A browser's unsafe requests must carry the session's CSRF token (a form field on pages,
the X-CSRF-Token header on the API); bearer tokens are not sent by browsers on their own,
so requests made with them need none. Before there is a session, the sign-in form carries a
token of its own that must match a strict same-site cookie set with the form (a double-
submit token), so another site cannot sign a browser in to an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from attrs import frozen
from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from casewatch.app.bus import Application
from casewatch.app.queries import Identify
from casewatch.service.access import Principal

SESSION_COOKIE: Final = "casewatch_session"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
LOGIN_COOKIE: Final = "casewatch_login"
LOGIN_FORM_LIFETIME: Final = 3600  # seconds a sign-in form stays usable
LOGIN_FORM_EXPIRED: Final = (
    "The sign-in form had expired or did not come from casewatch. Sign in again."
)
AnyRequest = Request[Any, Any, Any]
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@frozen
class Caller:
    """The principal behind a request, and the CSRF token its forms must echo."""

    who: Principal
    csrf_token: str | None  # None for bearer tokens


def identify(request: AnyRequest, app: Application) -> Caller | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        found = app.handle(Identify(bearer=authorization[7:].strip()))
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        found = app.handle(Identify(session=token))
    return Caller(found[0], found[1]) if found else None


def require_csrf(
    request: AnyRequest, caller: Caller, form: Mapping[str, str] | None = None
) -> None:
    """Refuse an unsafe browser request whose CSRF token is missing or wrong."""
    if request.method not in _UNSAFE or caller.csrf_token is None:
        return
    sent = (form or {}).get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), caller.csrf_token.encode()):
        raise PermissionDeniedException(
            "the form has expired or did not come from casewatch; reload the page and retry"
        )


def login_form_token() -> str:
    """A fresh token for one sign-in form (and its cookie)."""
    return secrets.token_urlsafe(32)


def login_form_genuine(request: AnyRequest, form: Mapping[str, str]) -> bool:
    """The sign-in form was served by casewatch to this browser: its token matches the
    cookie set with it. Cookies of another site never reach us, so a cross-site post
    cannot supply the matching pair."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    return bool(cookie) and hmac.compare_digest(sent.encode(), cookie.encode())


def login_cookie(request: AnyRequest, token: str) -> Cookie:
    return Cookie(
        key=LOGIN_COOKIE,
        value=token,
        max_age=LOGIN_FORM_LIFETIME,
        path="/login",
        httponly=True,
        secure=is_secure(request),
        samesite="strict",
    )


def require_caller(caller: Caller | None) -> Caller:
    if caller is None:
        raise NotAuthorizedException("sign in, or send an API token as 'Authorization: Bearer …'")
    return caller


def session_cookie(request: AnyRequest, token: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=is_secure(request),
        samesite="lax",
    )


def is_secure(request: AnyRequest) -> bool:
    """Browsers keep Secure cookies over https and on loopback (a secure context); only a
    plain-http remote address, which should never be deployed, gets a non-Secure one."""
    return request.url.scheme == "https" or request.url.hostname in _LOOPBACK


def client_address(request: AnyRequest) -> str:
    return request.client.host if request.client else "-"


Clock = Callable[[], datetime]
