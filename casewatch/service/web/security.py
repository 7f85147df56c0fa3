"""Who is asking: the session cookie of a browser, or the bearer token of an integration.

A browser's unsafe requests must carry the session's CSRF token (a form field on pages,
the X-CSRF-Token header on the API); bearer tokens are not sent by browsers on their own,
so requests made with them need none.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from attrs import frozen
from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from casewatch.service import accounts
from casewatch.service.access import Principal
from casewatch.service.runtime import Runtime

SESSION_COOKIE: Final = "casewatch_session"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
AnyRequest = Request[Any, Any, Any]
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@frozen
class Caller:
    """The principal behind a request, and the CSRF token its forms must echo."""

    who: Principal
    csrf_token: str | None  # None for bearer tokens


def identify(request: AnyRequest, runtime: Runtime, now: datetime) -> Caller | None:
    authorization = request.headers.get("authorization", "")
    with runtime.engine.connect().execution_options(read_only=True) as conn, conn.begin():
        if authorization.lower().startswith("bearer "):
            who = accounts.token_principal(conn, authorization[7:].strip())
            return Caller(who, None) if who else None
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        found = accounts.session_principal(conn, token, now)
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
