"""What every HTML page module shares: the signed-in caller, the permission check, the
template with the layout's context, the words of a refused form, the report query and
a download.

Its own module so the page modules import it, not each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Response
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import URLEncodedBody
from litestar.response import Template

from casewatch.app.errors import InvalidEventError
from casewatch.app.queries import LandingPeriod
from casewatch.service.access import Action
from casewatch.service.forms import FormError
from casewatch.service.web.security import AnyRequest, Caller, require_csrf
from casewatch.service.web.state import Service, service_of

Form = URLEncodedBody[dict[str, str]]


def page(
    request: AnyRequest, name: str, caller: Caller | None, status: int = 200, **context: Any
) -> Template:
    service = service_of(request)
    return Template(
        name,
        context={
            "caller": caller,
            "who": caller.who if caller else None,
            "csrf": caller.csrf_token if caller else None,
            "policies": service.runtime.config.policies.policies,
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )


def signed_in(request: AnyRequest, form: Mapping[str, str] | None = None) -> tuple[Service, Caller]:
    service = service_of(request)
    caller = service.caller(request)
    if caller is None:
        raise NotAuthorizedException
    require_csrf(request, caller, form)
    return service, caller


def allowed(caller: Caller, action: Action) -> None:
    if not caller.who.may(action):
        raise PermissionDeniedException(f"a {caller.who.role} may not {action}")


def form_problems(exc: InvalidEventError | FormError) -> list[dict[str, str]]:
    if isinstance(exc, FormError):
        return [{"field": exc.field, "error": str(exc)}]
    return [{"field": field, "error": words} for field, words in exc.fields()]


def download(
    body: bytes, media_type: str, filename: str, *, inline: bool = False
) -> Response[bytes]:
    """A file to save under `filename`, or with `inline` one the browser shows in place."""
    disposition = "inline" if inline else f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"content-disposition": disposition})


def report_query(request: AnyRequest, service: Service) -> tuple[dict[str, Any], str | None]:
    """The period and grouping asked for; with no period, the landing one and why."""
    query = request.query_params
    period, why = query.get("period"), None
    if not period:
        landing, why = service.app.handle(LandingPeriod())
        period = landing.label
    return {"period": period, "by": query.get("by") or None}, why
