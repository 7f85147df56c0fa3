"""The app factory: one Litestar application serving the API, the pages and health checks.

No work happens at import time; `create_app` wires the Application built over a Runtime
(configuration and a migrated database) into handlers. The scheduler, when this process
runs it, is started and stopped with the application.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from attrs import asdict, frozen
from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.template.config import TemplateConfig

from casewatch import __version__
from casewatch.app.errors import ConflictError, ForbiddenError, InvalidEventError, NotFoundError
from casewatch.cases.problems import sentences
from casewatch.cases.validation import TOO_DEEP, nesting_before_parsing
from casewatch.cases.wording import case_type_words, value_words, words
from casewatch.service.bootstrap import bootstrap, utc_now
from casewatch.service.logging import get_logger
from casewatch.service.runtime import Runtime, database_outage, database_state
from casewatch.service.web.api import (
    BEARER_SCHEME,
    CSRF_SCHEME,
    NUL,
    NUL_REFUSED,
    SESSION_SCHEME,
    ErrorBody,
    FieldErrorBody,
    api_router,
)
from casewatch.service.web.headers import add_security_headers
from casewatch.service.web.metrics import MeasuredApp, metrics, watch_pool
from casewatch.service.web.oidc_pages import oidc_router
from casewatch.service.web.pages import pages_router
from casewatch.service.web.review_pages import review_router
from casewatch.service.web.security import SESSION_COOKIE, AnyRequest
from casewatch.service.web.state import Service, service_of
from casewatch.service.web.two_factor_pages import two_factor_router
from casewatch.service.web.whatif_pages import whatif_router
from casewatch.service.worker import Heartbeat

log = get_logger("casewatch.http")
HERE: Final = Path(__file__).parent
SCHEDULER_GRACE: Final = 3  # scan intervals without a pass before /readyz says so


SECURITY_SCHEMES: Final[dict[str, Any]] = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description="An API token from `casewatch users token USERNAME --name …`, sent as "
        "'Authorization: Bearer <token>'. Requests with it need no CSRF token.",
    ),
    SESSION_SCHEME: SecurityScheme(
        type="apiKey",
        name=SESSION_COOKIE,
        security_scheme_in="cookie",
        description="The session cookie set by signing in at /login (HttpOnly).",
    ),
    CSRF_SCHEME: SecurityScheme(
        type="apiKey",
        name="X-CSRF-Token",
        security_scheme_in="header",
        description="The session's CSRF token, required with the session cookie on every "
        "POST; pages carry it in their forms' csrf_token field.",
    ),
}


@frozen
class Health:
    status: str


@frozen
class Readiness:
    status: str  # ready or not ready
    database: str
    schema: str
    scheduler: str
    matcher: str  # the rule matcher in use: durable or reference


@get("/healthz", sync_to_thread=False, include_in_schema=True, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    sync_to_thread=True,
    summary="Database, schema and scheduler are fine",
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            data_container=Readiness,
            description="Not ready: the body says which of the three is not fine.",
        )
    },
)
def readyz(request: AnyRequest) -> Response[Readiness]:
    service = service_of(request)
    database, schema = database_state(service.runtime)
    scheduler = _scheduler_state(service)
    ready = database == "reachable" and schema == "current" and scheduler != "stalled"
    body = Readiness(
        "ready" if ready else "not ready",
        database,
        schema,
        scheduler,
        service.runtime.config.matcher,
    )
    return Response(body, status_code=200 if ready else HTTP_503_SERVICE_UNAVAILABLE)


def _scheduler_state(service: Service) -> str:
    heartbeat = service.heartbeat
    if heartbeat is None:
        return "not in this process"
    if not heartbeat.last:
        return "starting"
    window = timedelta(seconds=heartbeat.interval * SCHEDULER_GRACE)
    return "alive" if heartbeat.alive(service.clock(), window) else "stalled"


def create_app(
    runtime: Runtime,
    *,
    clock: Callable[[], datetime] = utc_now,
    heartbeat: Heartbeat | None = None,
    on_shutdown: list[Callable[[], None]] | None = None,
) -> Litestar:
    service = Service(
        runtime=runtime, app=bootstrap(runtime, clock), clock=clock, heartbeat=heartbeat
    )
    stop_watching = watch_pool(runtime)
    return MeasuredApp(
        route_handlers=[
            api_router(),
            healthz,
            readyz,
            metrics,
            pages_router(),
            review_router(),
            two_factor_router(),
            oidc_router(),
            whatif_router(),
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        state=_state(service),
        openapi_config=OpenAPIConfig(
            title="casewatch",
            version=__version__,
            path="/api",
            description="Cases, events, alerts and SLA reports of a Community Safety "
            "Partnership. Sign in through the web pages (then send the session's CSRF token "
            "as X-CSRF-Token on POSTs) or send an API token as 'Authorization: Bearer …'.",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_vocabulary
        ),
        exception_handlers={Exception: _on_error},
        request_class=_Request,
        before_request=_refuse_nul,
        before_send=[add_security_headers],
        on_shutdown=[*(on_shutdown or []), stop_watching],
        response_cache_config=ResponseCacheConfig(default_expiration=0),
        debug=False,
        logging_config=None,
    )


def _vocabulary(engine: JinjaTemplateEngine) -> None:
    """Pages say what the CLI says: the shared vocabulary as template filters."""
    engine.engine.filters.update(
        words=words, value_words=value_words, case_type_words=case_type_words
    )


class _Request(Request[Any, Any, Any]):
    """A request whose JSON body, when it cannot be decoded at all, is a 400 in words.
    The JSON decoder reports invalid UTF-8 inside a string as a Python error the framework
    would answer with a 500. Nesting past what an event may hold is refused before the
    decoder sees it, as the 422 naming the field that an import gives in the same words:
    whether a decoder gives up on deep nesting depends on the thread's stack."""

    async def json(self) -> Any:
        body = await self.body()
        with contextlib.suppress(UnicodeDecodeError):  # the decoder says it in words below
            too_deep = nesting_before_parsing(body.decode("utf-8"), "the request body")
            if too_deep is not None:
                raise InvalidEventError(too_deep.problems)
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise SerializationException("the request body is not valid UTF-8 text") from None
        except RecursionError:
            raise SerializationException(f"the request body is {TOO_DEEP}") from None


async def _refuse_nul(request: AnyRequest) -> None:
    """PostgreSQL can neither store nor compare text holding NUL: a path or query string
    with one is a 400, on the API and the pages alike, not a database error."""
    if NUL in request.scope["path"]:
        raise ValidationException(f"the path {NUL_REFUSED}")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise ValidationException(f"'{name.replace(NUL, '')}' {NUL_REFUSED}")


def _state(service: Service) -> Any:
    from litestar.datastructures import State  # noqa: PLC0415 - only the factory needs it

    return State({"service": service})


RETRY_AFTER_SECONDS: Final = "5"  # a restart or failover; the pool reconnects by then
_STATUS_OF: Final[dict[type[Exception], tuple[int, str]]] = {
    NotFoundError: (404, "not found, or not one of the cases you can see"),
    ForbiddenError: (403, "your role may not do this"),
    ConflictError: (409, "the case changed at the same moment; send the request again"),
}


def _on_error(request: AnyRequest, exc: Exception) -> Response[Any]:
    """One place turns every failure into a clear answer: JSON on the API, a page (or the
    sign-in page) in the browser, and never a stack trace."""
    errors: list[FieldErrorBody] | None = None
    headers: dict[str, str] | None = None
    if isinstance(exc, InvalidEventError):
        status, detail = 422, "the event was rejected: " + sentences(exc.problems)
        errors = [FieldErrorBody(field, words) for field, words in exc.fields()]
    elif type(exc) in _STATUS_OF:
        status, detail = _STATUS_OF[type(exc)]
    elif isinstance(exc, HTTPException):
        status, detail = exc.status_code, exc.detail
        if status == 400 and isinstance(exc.extra, list) and exc.extra:
            errors = [
                FieldErrorBody(str(item.get("key", "body")), str(item.get("message", "")))
                for item in exc.extra
                if isinstance(item, dict)
            ] or None
    elif (outage := database_outage(exc)) is not None:
        # The database went away (restart, failover, network) or stayed locked: a state
        # that passes, not a fault of ours. The pool reconnects on the next request.
        log.warning("database_unavailable", action="http", path=request.url.path, error_type=outage)
        status, detail = 503, "the database is unavailable at the moment; try again shortly"
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    else:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "request_failed",
            action="http",
            path=request.url.path,
            error_type=type(exc).__name__,
            reference=reference,
        )
        status, detail = 500, f"something went wrong on our side (reference {reference})"
    if request.url.path.startswith("/api/"):
        body = asdict(ErrorBody(status, detail, errors))
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    if isinstance(exc, NotAuthorizedException):
        return Redirect(f"/login?next={request.url.path}")
    return Template(
        "error.html",
        context={"status": status, "detail": detail, "caller": None},
        status_code=status,
        headers=headers,
    )
