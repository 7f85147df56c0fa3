"""The real event writer and report builders, on the runtime's engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from casewatch.app.deps import Then
from casewatch.app.errors import ConflictError
from casewatch.app.repositories import SqlAudit
from casewatch.cases.importing import ImportSummary
from casewatch.cases.problems import Problem
from casewatch.cases.recording import Recorder
from casewatch.cases.store import ConcurrentUpdateError
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
) -> ImportSummary:
    """One event applied as a one-line import of a file would be (cases.recording: the
    import's checks as direct lookups), so validation, wording, duplicates, optimistic
    locking and re-derivation are the import's. `then(conn, summary)` runs inside its
    transaction."""
    recorder = Recorder(runtime.engine, runtime.config.validator(), runtime.projectors())
    return recorder.record(line, source=source, then=then)


@frozen
class SqlEventWriter:
    runtime: Runtime

    def append(
        self, event: Mapping[str, Any], *, source: str, then: Then
    ) -> Sequence[Problem] | None:
        line = json.dumps(event, ensure_ascii=False).encode()

        def audited(conn: Connection, summary: ImportSummary) -> None:
            then(SqlAudit(conn, self.runtime), summary.duplicates > 0)

        for attempt in range(_WRITE_ATTEMPTS):
            try:
                summary = append_line(self.runtime, line, source=source, then=audited)
            except (ConcurrentUpdateError, IntegrityError):
                # Another request changed (or opened) the case first; the next attempt
                # sees its events, or rejects this one in words if it now conflicts.
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise ConflictError from None
                continue
            if not summary.rejected:
                return None
            return [problem for line_error in summary.errors for problem in line_error.problems]
        raise ConflictError  # not reached: the loop returns or raises


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
