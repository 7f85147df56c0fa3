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
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from attrs import asdict, frozen
from litestar import Litestar

from casewatch.service.logging import configure_logging, get_logger
from casewatch.service.runtime import open_runtime
from casewatch.service.web.app import create_app
from casewatch.service.web.metrics import MULTIPROCESS_ENV
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


@contextmanager
def shared_metrics() -> Iterator[None]:
    """A fresh folder where every worker process writes its /metrics figures, so that any
    of them can answer a scrape with the sum (prometheus-client's multiprocess mode). The
    workers are started after this, and read the variable when they import the library."""
    if MULTIPROCESS_ENV in os.environ:  # the operator chose a folder: keep it, emptied
        folder, ours = os.environ[MULTIPROCESS_ENV], False
        for stale in os.scandir(folder):
            if stale.name.endswith(".db"):
                os.unlink(stale.path)
    else:
        folder, ours = tempfile.mkdtemp(prefix="casewatch-metrics-"), True
        os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield
    finally:
        if ours:
            shutil.rmtree(folder, ignore_errors=True)
