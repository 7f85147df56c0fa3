"""Queries: what people ask to see. Those that show case data carry the principal and
the request's address; a view of a case, a list or a report is audited by its handler."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from casewatch.app.case_list import MAX_PAGE, CaseFilters, CasePage, TeamSummary
from casewatch.app.inbox import AlertItem
from casewatch.app.messages import Message
from casewatch.reports.board import ReportRequest
from casewatch.reports.periods import Period
from casewatch.reports.whatif import Period as WhatIfPeriod
from casewatch.service.access import Principal

# Re-exported: the audit log's entries are what the API returns for it.
from casewatch.service.audit import MAX_LISTED as MAX_LISTED  # noqa: PLC0414
from casewatch.service.audit import AuditEntry as AuditEntry  # noqa: PLC0414
from casewatch.service.case_reviews import ReviewRow
from casewatch.service.views import CaseView
from casewatch.service.whatif import LoadedProposal, PolicyEdit


@frozen
class ViewCase(Message[CaseView]):
    who: Principal
    case_id: str
    address: str | None
    as_of: datetime | None = None


@frozen
class ListCases(Message[CasePage]):
    """One page of the matching cases and (when `counted`) how many match in all."""

    who: Principal
    filters: CaseFilters
    address: str | None
    counted: bool = True


@frozen
class ViewTeam(Message[TeamSummary]):
    """The manager's dashboard."""

    who: Principal
    address: str | None
    at_risk_shown: int = 100


@frozen
class Inbox(Message[list[AlertItem]]):
    who: Principal
    include_acknowledged: bool = False
    limit: int = MAX_PAGE
    offset: int = 0


@frozen
class CountInbox(Message[int]):
    who: Principal
    include_acknowledged: bool = False


@frozen
class ViewReport(Message[dict[str, Any]]):
    """The SLA report (`kind` "sla") or the ASB case review figures ("case-reviews"),
    audited as `action` with `detail` unless `audited` is off (the report page's own
    chart, whose page view is already recorded)."""

    who: Principal
    request: ReportRequest
    address: str | None
    action: str = "report.view"
    detail: Mapping[str, Any] = field(factory=dict)
    kind: str = "sla"
    audited: bool = True


@frozen
class WhatIfOutcome:
    whatif: dict[str, Any] | None
    loaded: LoadedProposal | None
    problems: list[str]


@frozen
class RunWhatIf(Message[WhatIfOutcome]):
    """A period replayed under one policy edited; with no edit (the form could not be
    read) only the audit row, when `audit_refused`."""

    who: Principal
    address: str | None
    action: str
    detail: Mapping[str, Any]
    edit: PolicyEdit | None
    period: WhatIfPeriod | None
    audit_refused: bool = True


@frozen
class CaseReview:
    view: CaseView
    review: dict[str, Any]


@frozen
class ViewCaseReview(Message[CaseReview]):
    """One ASB case's review (the case view audited as any other)."""

    who: Principal
    case_id: str
    address: str | None


@frozen
class ReviewsInProgress(Message[list[ReviewRow]]):
    who: Principal
    address: str | None


@frozen
class LatestYear(Message[str]):
    """The financial year of the newest event (this year on a live system)."""


@frozen
class LandingPeriod(Message[tuple[Period, str]]):
    """The period a report page shows when none is asked for, and why."""


@frozen
class ViewAudit(Message[list[AuditEntry]]):
    who: Principal
    case_id: str | None = None
    username: str | None = None
    limit: int = 200


@frozen
class ListUsers(Message[list[Principal]]):
    who: Principal


@frozen
class Identify(Message[tuple[Principal, str | None] | None]):
    """Who a request acts for: an API token's person (no CSRF token), or a live full
    session's person and its CSRF token."""

    bearer: str | None = field(repr=False, default=None)
    session: str | None = field(repr=False, default=None)


@frozen
class EnrolmentSession(Message[tuple[Principal, str] | None]):
    """A live session at either stage: the two-factor page's caller."""

    token: str = field(repr=False)
