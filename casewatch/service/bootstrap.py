"""The composition root: configuration and database (the Runtime), the unit of work over
them, the event writer, the report builders and the clock, wired into one Application.
The web app, the worker and `casewatch serve` are built from here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from casewatch.app.bus import Application
from casewatch.app.deps import Deps
from casewatch.app.repositories import bind
from casewatch.app.sql_deps import SqlEventWriter, SqlReports
from casewatch.app.uow import SqlUnitOfWork, UnitOfWork
from casewatch.service.runtime import Runtime, open_runtime


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


def open_application(
    db_option: str | None, config_dir: str | None, clock: Callable[[], datetime] = utc_now
) -> tuple[Runtime, Application]:
    """Configuration loaded, the database connected (and initialised if empty), and the
    Application over them."""
    runtime = open_runtime(db_option, config_dir)
    return runtime, bootstrap(runtime, clock)
