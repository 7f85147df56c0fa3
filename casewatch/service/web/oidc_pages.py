"""Sign-in through the OpenID Connect provider: the button's start and the provider's
answer. The protocol checks are in casewatch.service.oidc; here are the browser's side
(the state cookie, redirects) and the words and audit row of every refusal."""

from __future__ import annotations

import os
from typing import Any, Final

import httpx
from litestar import Response, Router, get
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from casewatch.app.commands import OidcSignIn, RefuseSignIn, StartOidc, TakeOidcRequest
from casewatch.service import accounts, oidc
from casewatch.service.deployment import OidcSettings
from casewatch.service.web.security import (
    AnyRequest,
    client_address,
    is_secure,
    session_cookie,
)
from casewatch.service.web.state import service_of

START: Final = "/login/oidc"
CALLBACK: Final = "/login/oidc/callback"
STATE_COOKIE: Final = "casewatch_oidc_state"
_discoveries: dict[OidcSettings, oidc.Discovery] = {}


def _http() -> httpx.Client:
    return httpx.Client(timeout=oidc.HTTP_TIMEOUT, follow_redirects=False)


def discovery(settings: OidcSettings) -> oidc.Discovery:
    """One per process and provider: its metadata and keys are cached."""
    if settings not in _discoveries:
        _discoveries[settings] = oidc.Discovery(settings, _http)
    return _discoveries[settings]


def sign_in_options(request: AnyRequest) -> dict[str, Any]:
    """What the sign-in page offers: the provider's button, the password form, and after
    signing out, the provider's own sign-out where it has one."""
    sign_in = service_of(request).runtime.config.sign_in
    options: dict[str, Any] = {
        "local_passwords": sign_in.local_passwords,
        "oidc_label": sign_in.oidc.label if sign_in.oidc else None,
        "signed_out": "signed_out" in request.query_params,
    }
    if sign_in.oidc and options["signed_out"]:
        try:
            provider = discovery(sign_in.oidc).provider()
        except oidc.SignInRefused:
            provider = None
        if provider is not None:
            after = str(request.base_url).rstrip("/") + "/login"
            options["end_session_url"] = oidc.end_session_url(provider, sign_in.oidc, after)
    return options


def _redirect_uri(request: AnyRequest) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK


def _refuse(request: AnyRequest, refused: oidc.SignInRefused, status: int = 401) -> Template:
    service_of(request).app.handle(
        RefuseSignIn(
            refused.claimed or "-",
            client_address(request),
            {"method": "oidc", "reason": refused.reason},
        )
    )
    response = Template(
        "login.html",
        context={
            "caller": None,
            "who": None,
            "csrf": None,
            "path": request.url.path,
            "error": refused.words,
            "next": "/",
            **sign_in_options(request),
        },
        status_code=status,
    )
    response.delete_cookie(STATE_COOKIE, path=START)
    return response


def _not_set_up(request: AnyRequest) -> Template:
    """The refusal at either end of the flow where no identity provider is configured."""
    return _refuse(
        request,
        oidc.SignInRefused("Sign-in through an identity provider is not set up here.",
                           "not_configured"),
        status=404,
    )  # fmt: skip


@get(START, sync_to_thread=True)
def start(request: AnyRequest) -> Response[Any]:
    service = service_of(request)
    settings = service.runtime.config.sign_in.oidc
    if settings is None:
        return _not_set_up(request)
    next_path = request.query_params.get("next", "/")
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        next_path = "/"
    try:
        provider = discovery(settings).provider()
        started = service.app.handle(
            StartOidc(settings, provider, _redirect_uri(request), next_path[:500])
        )
    except oidc.SignInRefused as refused:
        return _refuse(request, refused, status=502)
    response: Response[Any] = Redirect(started.authorization_url, status_code=302)
    response.set_cookie(
        Cookie(
            key=STATE_COOKIE,
            value=started.state,
            max_age=int(oidc.REQUEST_LIFETIME.total_seconds()),
            path=START,  # sent to the callback only
            httponly=True,
            secure=is_secure(request),
            samesite="lax",  # the provider sends the browser back with a top-level GET
        )
    )
    return response


@get(CALLBACK, sync_to_thread=True)
def callback(request: AnyRequest) -> Response[Any]:
    service = service_of(request)
    settings = service.runtime.config.sign_in.oidc
    if settings is None:
        return _not_set_up(request)
    query = request.query_params
    now, address = service.clock(), client_address(request)
    try:
        pending = service.app.handle(  # used up, whatever follows
            TakeOidcRequest(
                query.get("state", ""), request.cookies.get(STATE_COOKIE, ""), query.get("error")
            )
        )
        found = discovery(settings)
        id_token = oidc.exchange(
            settings, found.provider(), client=_http, code=query.get("code", ""),
            redirect_uri=_redirect_uri(request), pending=pending,
            secret=os.environ.get(oidc.CLIENT_SECRET_ENV),
        )  # fmt: skip
        claims = oidc.verify(found, settings, id_token, pending.nonce, now)
        token = service.app.handle(OidcSignIn(settings, claims, address)).token
    except oidc.SignInRefused as refused:
        return _refuse(request, refused)
    response: Response[Any] = Redirect(pending.next_path, status_code=303)
    response.set_cookie(
        session_cookie(request, token, int(accounts.SESSION_LIFETIME.total_seconds()))
    )
    response.delete_cookie(STATE_COOKIE, path=START)
    return response


def oidc_router() -> Router:
    return Router(path="/", route_handlers=[start, callback], include_in_schema=False)
