"""`casewatch worker`: the scheduler alone. Run several against PostgreSQL to scale out.

APScheduler 3 drives two interval jobs per process (coalesced, one instance at a time);
the schedule itself lives in the database (`next_check_at`), so workers share nothing
but the database, and a worker killed at any moment loses nothing: its uncommitted batch
is rolled back and taken by the next pass of any worker.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from attrs import asdict, define, field
from sqlalchemy.exc import OperationalError

from casewatch.notifications.relay import relay
from casewatch.notifications.scan import scan
from casewatch.service.logging import get_logger
from casewatch.service.observed import record_pass
from casewatch.service.runtime import Runtime

log = get_logger("casewatch.worker")


@define
class Heartbeat:
    """When each job last finished a pass: `/readyz` reports a scheduler that stopped."""

    interval: float  # seconds between passes of the slower job
    last: dict[str, datetime] = field(factory=dict)

    def alive(self, now: datetime, within: timedelta) -> bool:
        return bool(self.last) and all(now - at <= within for at in self.last.values())


def start_scheduler(
    runtime: Runtime, scan_seconds: float, relay_seconds: float
) -> tuple[BackgroundScheduler, Heartbeat]:
    """The SLA scan and the outbox relay as background jobs (for `worker` and `serve`)."""
    config = runtime.config
    rulesets = config.rulesets()
    channels = runtime.channels()
    heartbeat = Heartbeat(interval=max(scan_seconds, relay_seconds))

    def sla_scan() -> None:
        result = scan(runtime.engine, rulesets, config.routing, datetime.now(UTC), config.timezone)
        if result.cycles_checked or result.backlog:
            log.info("sla_scan", action="sla_scan", **asdict(result))
        finished = datetime.now(UTC)
        record_pass(runtime.engine, "sla_scan", finished, result.cycles_checked, result.backlog)
        heartbeat.last["sla_scan"] = finished

    def outbox_relay() -> None:
        result = relay(runtime.engine, channels, config.routing, datetime.now(UTC))
        if result.sent or result.failed or result.dead:
            log.info("outbox_relay", action="outbox_relay", **asdict(result))
        finished = datetime.now(UTC)
        handled = result.sent + result.failed + result.dead
        record_pass(runtime.engine, "outbox_relay", finished, handled, 0)
        heartbeat.last["outbox_relay"] = finished

    scheduler = BackgroundScheduler(timezone=UTC)
    for job, name, seconds in (
        (sla_scan, "sla_scan", scan_seconds),
        (outbox_relay, "outbox_relay", relay_seconds),
    ):
        scheduler.add_job(
            _survive(job, name),
            "interval",
            seconds=seconds,
            id=name,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    log.info(
        "scheduler_started",
        action="worker",
        scan_seconds=scan_seconds,
        relay_seconds=relay_seconds,
        pid=os.getpid(),
        matcher=config.matcher,
    )
    return scheduler, heartbeat


def run_worker(runtime: Runtime, scan_seconds: float, relay_seconds: float) -> None:
    """Run until SIGTERM or SIGINT; each job survives a failed pass (the next one retries)."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", action="worker", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    scheduler, _ = start_scheduler(runtime, scan_seconds, relay_seconds)
    stop.wait()
    scheduler.shutdown(wait=True)
    log.info("worker_stopped", action="worker")


def _survive(job: Callable[[], None], name: str) -> Callable[[], None]:
    """A pass that loses the database is logged and left to the next pass, which redoes
    whatever was rolled back."""

    def run() -> None:
        try:
            job()
        except OperationalError as exc:
            log.warning(f"{name}_failed", action=name, error_type=type(exc.orig).__name__)

    return run
