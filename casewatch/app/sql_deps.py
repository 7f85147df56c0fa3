"""The real event writer and report builders, on the runtime's engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from attrs import Factory, field, frozen
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from casewatch.app.case_view import victim_data
from casewatch.app.deps import CaseAsWritten, Then
from casewatch.app.errors import ConflictError
from casewatch.app.repositories import SqlAudit
from casewatch.cases.importing import ImportSummary
from casewatch.cases.problems import Problem
from casewatch.cases.recording import Recorder
from casewatch.cases.store import ConcurrentUpdateError, StoredEvent
from casewatch.engine.store import Derived, DerivedHook, Rulesets
from casewatch.reports.board import ReportRequest
from casewatch.reports.periods import Period
from casewatch.reports.whatif import Period as WhatIfPeriod
from casewatch.service.reporting import build_case_review_report, build_report, landing_period
from casewatch.service.runtime import Runtime
from casewatch.service.whatif import LoadedProposal, PolicyEdit, edited_proposal, run_whatif

_WRITE_ATTEMPTS: Final = 3


def append_line(
    runtime: Runtime,
    line: bytes,
    *,
    source: str,
    then: Callable[[Connection, ImportSummary], None],
    rulesets: Rulesets | None = None,
    on_derived: DerivedHook | None = None,
) -> ImportSummary:
    """One event applied as a one-line import of a file would be (cases.recording: the
    import's checks as direct lookups), so validation, wording, duplicates, optimistic
    locking and re-derivation are the import's. `then(conn, summary)` runs inside its
    transaction; `rulesets` and `on_derived` go to the projectors (Runtime.projectors)."""
    projectors = runtime.projectors(rulesets, on_derived)
    recorder = Recorder(runtime.engine, runtime.config.validator(), projectors)
    return recorder.record(line, source=source, then=then)


@frozen
class SqlEventWriter:
    """Keeps one Rulesets for all its writes: the matcher's remembered answers and the
    knowledge that the current ruleset version is stored outlive a request."""

    runtime: Runtime
    rulesets: Rulesets = field(
        default=Factory(lambda self: self.runtime.config.rulesets(), takes_self=True)
    )

    def append(
        self, event: Mapping[str, Any], *, source: str, then: Then
    ) -> Sequence[Problem] | CaseAsWritten | None:
        line = json.dumps(event, ensure_ascii=False).encode()

        case_id = str(event.get("case_id"))
        victims: list[dict[str, Any] | None] = []

        def audited(conn: Connection, summary: ImportSummary) -> None:
            then(SqlAudit(conn, self.runtime), summary.duplicates > 0)
            if not summary.duplicates:  # what the answer shows, read in the same transaction
                victims.append(victim_data(conn, case_id))

        for attempt in range(_WRITE_ATTEMPTS):
            derived: list[Derived] = []
            victims.clear()
            try:
                summary = append_line(
                    self.runtime,
                    line,
                    source=source,
                    then=audited,
                    rulesets=self.rulesets,
                    on_derived=derived.append,
                )
            except (ConcurrentUpdateError, IntegrityError):
                # Another request changed (or opened) the case first; the next attempt
                # sees its events, or rejects this one in words if it now conflicts.
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise ConflictError from None
                continue
            if not summary.rejected:
                return as_written(derived, case_id, victims[0] if victims else None)
            return [problem for line_error in summary.errors for problem in line_error.problems]
        raise ConflictError  # not reached: the loop returns or raises


def as_written(
    derived: Sequence[Derived], case_id: str, victim: Mapping[str, Any] | None
) -> CaseAsWritten | None:
    """The case as the write's one projection derived it (None: nothing was derived, or
    its events' rows were not kept)."""
    if len(derived) != 1:
        return None
    found = derived[0]
    for history, derivation in zip(found.histories, found.derivations, strict=True):
        if history.case_id != case_id:
            continue
        if len(history.records) != len(history.events):
            return None  # re-read after a conflict, without its rows
        linked = found.linked.get(case_id, ())
        moments = [e.at for e in history.events] + [e.event.at for e in linked]
        return CaseAsWritten(
            derivation=derivation,
            events=[
                StoredEvent(event=e, payload=r.payload)
                for e, r in zip(history.events, history.records, strict=True)
            ],
            latest_at=max(moments),
            victim=victim,
        )
    return None


@frozen
class SqlReports:
    runtime: Runtime

    def sla(self, request: ReportRequest) -> dict[str, Any]:
        return build_report(self.runtime, request)

    def case_reviews(self, request: ReportRequest) -> dict[str, Any]:
        return build_case_review_report(self.runtime, request)

    def landing_period(self, now: datetime) -> tuple[Period, str]:
        return landing_period(self.runtime, now)

    def whatif(
        self, edit: PolicyEdit, period: WhatIfPeriod
    ) -> tuple[dict[str, Any], LoadedProposal]:
        loaded = edited_proposal(self.runtime.config, edit)
        return run_whatif(self.runtime, loaded, period), loaded
