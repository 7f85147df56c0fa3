"""The composition root: over an opened Runtime (configuration and a migrated database),
the unit of work, the event writer, the report builders and the clock, wired into one
Application. `create_app` (and so `casewatch serve`) builds its Application here; the
delivery channels every scheduler pass uses are built in one place, Runtime.channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from casewatch.app.bus import Application
from casewatch.app.deps import Deps
from casewatch.app.repositories import bind
from casewatch.app.sql_deps import SqlEventWriter, SqlReports
from casewatch.app.uow import SqlUnitOfWork, UnitOfWork
from casewatch.service.runtime import Runtime


def utc_now() -> datetime:
    return datetime.now(UTC)


def bootstrap(runtime: Runtime, clock: Callable[[], datetime] = utc_now) -> Application:
    """The Application over an opened Runtime."""

    def unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(runtime, bind)

    deps = Deps(
        config=runtime.config,
        clock=clock,
        events=SqlEventWriter(runtime),
        reports=SqlReports(runtime),
    )
    return Application(unit_of_work, deps)
