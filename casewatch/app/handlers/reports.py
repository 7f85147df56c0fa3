"""Handlers for reports, the ASB case review pages' reads, and the admin's lists: each
checks the role may see it and audits the view."""

from __future__ import annotations

from typing import Any

from casewatch.app.deps import Deps
from casewatch.app.errors import ForbiddenError, NotFoundError
from casewatch.app.handlers.cases import view_case
from casewatch.app.queries import (
    CaseReview,
    LandingPeriod,
    LatestYear,
    ListUsers,
    ReviewsInProgress,
    RunWhatIf,
    ViewAudit,
    ViewCase,
    ViewCaseReview,
    ViewReport,
    WhatIfOutcome,
)
from casewatch.app.uow import UnitOfWork
from casewatch.reports.periods import Period, financial_year, fy_of
from casewatch.reports.whatif import ProposalRefusedError
from casewatch.service.access import Action, Principal
from casewatch.service.audit import AuditEntry
from casewatch.service.case_reviews import ReviewRow
from casewatch.service.config import ConfigError


def _allowed(who: Principal, action: Action) -> None:
    if not who.may(action):
        raise ForbiddenError


def view_report(query: ViewReport, uow: UnitOfWork, deps: Deps) -> dict[str, Any]:
    _allowed(query.who, Action.VIEW_REPORTS)
    if query.kind == "case-reviews":
        report = deps.reports.case_reviews(query.request)
    else:
        report = deps.reports.sla(query.request)
    if query.audited:
        with uow:
            uow.audit.append(
                query.who, query.action, now=deps.clock(), address=query.address,
                detail=query.detail,
            )  # fmt: skip
            uow.commit()
    return report


def run_whatif(query: RunWhatIf, uow: UnitOfWork, deps: Deps) -> WhatIfOutcome:
    """A what-if's view is audited whether or not its form could be used; a download
    (`audit_refused` off) only once made."""
    _allowed(query.who, Action.VIEW_REPORTS)
    outcome = WhatIfOutcome(None, None, [])
    if query.edit is not None and query.period is not None:
        try:
            whatif, loaded = deps.reports.whatif(query.edit, query.period)
        except (ConfigError, ProposalRefusedError) as exc:
            outcome = WhatIfOutcome(None, None, getattr(exc, "problems", None) or [str(exc)])
        else:
            outcome = WhatIfOutcome(whatif, loaded, [])
    if outcome.whatif is not None or query.audit_refused:
        with uow:
            uow.audit.append(
                query.who, query.action, now=deps.clock(), address=query.address,
                detail=dict(query.detail),
            )  # fmt: skip
            uow.commit()
    return outcome


def view_case_review(query: ViewCaseReview, uow: UnitOfWork, deps: Deps) -> CaseReview:
    view = view_case(ViewCase(query.who, query.case_id, query.address), uow, deps)
    if view.case_type != "asb":
        raise NotFoundError  # the ASB case review applies to ASB cases only
    with uow.read_only():
        review = uow.cases.case_review(view.case_id, deps.clock())
    return CaseReview(view, review)


def reviews_in_progress(query: ReviewsInProgress, uow: UnitOfWork, deps: Deps) -> list[ReviewRow]:
    """A manager's view of every review in progress in their teams, soonest deadline
    first, audited as a list of cases."""
    _allowed(query.who, Action.VIEW_TEAM)
    now = deps.clock()
    with uow:
        rows = uow.cases.reviews_in_progress(query.who, now)
        uow.audit.append(
            query.who,
            "case.list",
            now=now,
            address=query.address,
            detail={"filters": {"case_reviews": "in progress"}, "cases": len(rows)},
        )
        uow.commit()
    return rows


def latest_year(query: LatestYear, uow: UnitOfWork, deps: Deps) -> str:
    with uow.read_only():
        latest = uow.cases.latest_event_at()
    day = (latest or deps.clock()).astimezone(deps.config.timezone).date()
    return financial_year(fy_of(day)).label


def landing_period(query: LandingPeriod, uow: UnitOfWork, deps: Deps) -> tuple[Period, str]:
    return deps.reports.landing_period(deps.clock())


def view_audit(query: ViewAudit, uow: UnitOfWork, deps: Deps) -> list[AuditEntry]:
    _allowed(query.who, Action.VIEW_AUDIT)
    with uow.read_only():
        return uow.audit.entries(case_id=query.case_id, username=query.username, limit=query.limit)


def list_users(query: ListUsers, uow: UnitOfWork, deps: Deps) -> list[Principal]:
    _allowed(query.who, Action.MANAGE_USERS)
    with uow.read_only():
        return uow.users.everyone()
