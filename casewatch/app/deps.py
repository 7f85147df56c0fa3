"""What handlers need besides the unit of work: configuration, the clock, the event log
writer and the report builders (each of which runs its own transaction)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from attrs import frozen

from casewatch.app.uow import Audit
from casewatch.cases.problems import Problem
from casewatch.cases.store import StoredEvent
from casewatch.engine.derive import Derivation
from casewatch.reports.board import ReportRequest
from casewatch.reports.periods import Period
from casewatch.reports.whatif import Period as WhatIfPeriod
from casewatch.service.config import Config
from casewatch.service.whatif import LoadedProposal, PolicyEdit

# Called inside the transaction that appends an event: its audit log, and whether the
# event was a duplicate of one already recorded.
Then = Callable[[Audit, bool], None]


@frozen
class CaseAsWritten:
    """The case as the write that applied an event to it left it, derived inside that
    write's transaction: what the answer to the write shows, without replaying the case
    or reading it once more. `events`: its events in effect order, with their payloads;
    `latest_at`: the latest moment of those events and of the linked cases' events it
    counted; `victim`: the victim's details as the write left them, unless erased."""

    derivation: Derivation
    events: Sequence[StoredEvent]
    latest_at: datetime
    victim: Mapping[str, Any] | None


class EventWriter(Protocol):
    def append(
        self, event: Mapping[str, Any], *, source: str, then: Then
    ) -> Sequence[Problem] | CaseAsWritten | None:
        """Validate and apply one event, as a line of an import: its problems if it was
        refused (nothing applied); once applied, the case as the write derived it, or
        None if it did not (a duplicate changes nothing). Raises errors.ConflictError
        when the case kept changing under it."""


class Reports(Protocol):
    def sla(self, request: ReportRequest) -> dict[str, Any]: ...

    def case_reviews(self, request: ReportRequest) -> dict[str, Any]: ...

    def landing_period(self, now: datetime) -> tuple[Period, str]: ...

    def whatif(
        self, edit: PolicyEdit, period: WhatIfPeriod
    ) -> tuple[dict[str, Any], LoadedProposal]:
        """Raises ConfigError or ProposalRefusedError in words."""


@frozen
class Deps:
    config: Config
    clock: Callable[[], datetime]
    events: EventWriter
    reports: Reports
