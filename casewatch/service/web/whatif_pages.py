"""The report page's What if panel: one policy's target edited in a form (no files), the
period replayed under it, current and proposed side by side, and the download.

Reads only; each view and download is audited like the report's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Response, Router, get
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from casewatch.app.errors import NotFoundError
from casewatch.app.queries import RunWhatIf, WhatIfOutcome
from casewatch.engine.policies import TARGET_KINDS
from casewatch.reports.periods import Period as ChosenPeriod
from casewatch.reports.periods import PeriodError, choose_period
from casewatch.reports.whatif import GROUPINGS, Period
from casewatch.service.access import Action, Principal
from casewatch.service.web.page_parts import allowed, download, page, report_query, signed_in
from casewatch.service.web.security import AnyRequest, client_address
from casewatch.service.web.state import Service
from casewatch.service.whatif import (
    PolicyEdit,
    render_whatif,
    titles,
)

DOWNLOADS: Final = {
    "csv": ("text/csv; charset=utf-8", "whatif.csv"),
    "html": ("text/html; charset=utf-8", "whatif.html"),
    "json": ("application/json", "whatif.json"),
}


class FormProblemError(ValueError):
    """A value in the what-if form that cannot be used, in words for the person."""


def _edit(query: Mapping[str, str], service: Service) -> tuple[dict[str, str], PolicyEdit]:
    """The form's values (as typed, to show again) and the edit they make; the first
    policy's own values fill what was left out."""
    policies = service.runtime.config.policies
    chosen = query.get("policy") or policies.ids[0]
    if chosen not in policies.ids:
        raise FormProblemError(f"'{chosen}' is not a policy")
    policy = policies[chosen]
    typed = {
        "policy": chosen,
        "days": query.get("days") or str(policy.target.days),
        "kind": query.get("kind") or policy.target.kind,
        "target_pct": query.get("target_pct") or f"{policy.target_pct:g}",
        "amber_band": query.get("amber_band") or f"{policy.amber_band:g}",
    }
    if typed["kind"] not in TARGET_KINDS:
        raise FormProblemError("the kind of days must be calendar or working")
    return typed, PolicyEdit(
        policy=chosen,
        days=_whole(typed["days"], "target days"),
        kind=typed["kind"],
        target_pct=_number(typed["target_pct"], "target %"),
        amber_band=_number(typed["amber_band"], "amber band"),
    )


def _whole(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormProblemError(f"{name} must be a whole number, e.g. 7") from None


def _number(text: str, name: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        raise FormProblemError(f"{name} must be a number, e.g. 85") from None
    return int(value) if value.is_integer() else value


def _whatif(
    request: AnyRequest, service: Service, who: Principal, fmt: str | None = None
) -> tuple[dict[str, Any], WhatIfOutcome]:
    """The form as typed and the what-if it asks for (or the problems with it): a view
    (`fmt` None) is audited either way, a download only once made."""
    chosen, _ = report_query(request, service)
    by = chosen["by"] if chosen["by"] in GROUPINGS else None
    form: dict[str, Any] = {"period": chosen["period"], "by": by or ""}
    edit: PolicyEdit | None = None
    period: Period | None = None
    problems: list[str] = []
    try:
        typed, edit = _edit(request.query_params, service)
        form |= typed
        chosen_period = _period(chosen["period"])
    except (FormProblemError, PeriodError) as exc:
        edit, problems = None, getattr(exc, "problems", None) or [str(exc)]
    else:
        period = Period(chosen_period.first, chosen_period.last, service.clock(), by)
    outcome = service.app.handle(
        RunWhatIf(
            who,
            client_address(request),
            action="report.whatif" if fmt is None else "report.whatif.download",
            detail=form if fmt is None else {**form, "format": fmt},
            edit=edit,
            period=period,
            audit_refused=fmt is None,
        )
    )
    return form, WhatIfOutcome(None, None, problems) if problems else outcome


def _period(label: str) -> ChosenPeriod:
    try:
        return choose_period(label, None, None)
    except PeriodError:
        raise
    except (ValueError, OverflowError):  # FY9999 is well formed but its end is not a date
        raise FormProblemError(f"the period {label} is out of range") from None


@get("/reports/whatif", sync_to_thread=True)
def whatif_page(request: AnyRequest) -> Template:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_REPORTS)
    form, outcome = _whatif(request, service, caller.who)
    section = None
    if outcome.whatif is not None and outcome.loaded is not None:
        from casewatch.reports.render import whatif_fragment  # noqa: PLC0415 - matplotlib

        names = titles(service.runtime.config, outcome.loaded.config)
        section = Markup(whatif_fragment(outcome.whatif, form["by"] or None, names))  # noqa: S704 - our own template's output, autoescaped
    return page(
        request,
        "reports_whatif.html",
        caller,
        status=200 if section is not None else 400,
        form=form,
        section=section,
        problems=outcome.problems,
        kinds=TARGET_KINDS,
        groupings=GROUPINGS,
        query=urlencode({k: v for k, v in form.items() if v}),
        downloads=DOWNLOADS,
    )


@get("/reports/whatif/download/{fmt:str}", sync_to_thread=True)
def whatif_download(request: AnyRequest, fmt: FromPath[str]) -> Response[bytes]:
    service, caller = signed_in(request)
    allowed(caller, Action.VIEW_REPORTS)
    if fmt not in DOWNLOADS:
        raise NotFoundError
    form, outcome = _whatif(request, service, caller.who, fmt)
    if outcome.whatif is None or outcome.loaded is None:
        return Response(
            "\n".join(outcome.problems).encode(), status_code=400, media_type="text/plain"
        )
    names = titles(service.runtime.config, outcome.loaded.config)
    body = render_whatif(outcome.whatif, form["by"] or None, fmt, names)
    media_type, name = DOWNLOADS[fmt]
    return download(body, media_type, f"{form['period']}-{name}")


def whatif_router() -> Router:
    return Router(path="/", route_handlers=[whatif_page, whatif_download], include_in_schema=False)
