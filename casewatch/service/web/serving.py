"""The served application, built in the process that serves it.

With one process, `casewatch serve` builds it directly. With `--workers N`, uvicorn
starts N processes that each import `from_environment`; the command's options reach them
through one environment variable. Every process has its own database pool and, unless
`--no-scheduler`, its own scheduler: they coordinate through the database, as several
`casewatch worker`s do.
"""

from __future__ import annotations

import json
import os
from typing import Final

from attrs import asdict, frozen
from litestar import Litestar

from casewatch.service.logging import configure_logging, get_logger
from casewatch.service.runtime import open_runtime
from casewatch.service.web.app import create_app
from casewatch.service.worker import start_scheduler

SETTINGS_ENV: Final = "CASEWATCH_SERVE_SETTINGS"
log = get_logger("casewatch.serve")


@frozen
class ServeSettings:
    db: str | None
    config: str | None
    scheduler: bool
    scan_every: float
    relay_every: float


def build(settings: ServeSettings) -> Litestar:
    runtime = open_runtime(settings.db, settings.config)
    shutdown = []
    heartbeat = None
    if settings.scheduler:
        background, heartbeat = start_scheduler(runtime, settings.scan_every, settings.relay_every)

        def stop_scheduler() -> None:
            background.shutdown(wait=True)  # a pass under way finishes or rolls back
            log.info("scheduler_stopped", action="serve", pid=os.getpid())

        shutdown.append(stop_scheduler)
    shutdown.append(runtime.engine.dispose)
    return create_app(runtime, heartbeat=heartbeat, on_shutdown=shutdown)


def from_environment() -> Litestar:
    """uvicorn's factory in each worker process."""
    configure_logging()
    return build(ServeSettings(**json.loads(os.environ[SETTINGS_ENV])))


def to_environment(settings: ServeSettings) -> None:
    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))
