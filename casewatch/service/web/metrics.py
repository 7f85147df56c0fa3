"""`/metrics` in the Prometheus text format, for operations.

Two kinds of figure, kept apart because `casewatch serve --workers N` runs N processes:
- Per-process figures (requests, latency, pool use) use prometheus-client's multiprocess
  mode when PROMETHEUS_MULTIPROC_DIR is set (`serve` sets it for several workers): each
  process writes its own files and any process answering a scrape adds them all up.
- Figures about the work (imports, events, alerts, outbox, scan passes) are read from the
  database at scrape time, so they are whole whichever process — a `serve` worker or a
  separate `casewatch worker` — did the work.
Labels are route templates (`/cases/{case_id}`, never the path asked for), methods,
statuses, alert levels, outbox states and job names: never a case reference or a person.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Final

from litestar import Litestar, Response, get
from litestar.types import Message
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from casewatch.app.commands import RefuseScrape
from casewatch.service import observed
from casewatch.service.runtime import Runtime
from casewatch.service.web.security import AnyRequest, client_address
from casewatch.service.web.state import service_of

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV: Final = "CASEWATCH_METRICS_TOKEN"  # noqa: S105 - the name of a variable
# The classic text format every Prometheus reads (our names need none of 1.0.0's escaping);
# the framework adds the charset.
MEDIA_TYPE: Final = "text/plain; version=0.0.4"
UNMATCHED: Final = "unmatched"  # the route label of a path no handler serves
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_LOCAL: Final = CollectorRegistry(auto_describe=True)
REQUESTS: Final = Counter(
    "casewatch_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=_LOCAL,
)
LATENCY: Final = Histogram(
    "casewatch_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    registry=_LOCAL,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_IN_USE: Final = Gauge(
    "casewatch_db_pool_checked_out",
    "Database connections in use, summed over the live server processes.",
    registry=_LOCAL,
    multiprocess_mode="livesum",
)
POOL_SIZE: Final = Gauge(
    "casewatch_db_pool_size",
    "Database connections each pool keeps open, summed over the live server processes.",
    registry=_LOCAL,
    multiprocess_mode="livesum",
)


class MeasuredApp(Litestar):
    """The application, timing every HTTP request from its first byte in to its last out,
    including those that end in an error page or match no route."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]  # unless a response starts: the server answers 500 to a crash

        async def noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await super().__call__(scope, receive, noting_status)
        finally:
            observe(scope, status[0], time.perf_counter() - started)


def observe(scope: Any, status: int, seconds: float) -> None:
    route = str(scope.get("path_template") or UNMATCHED)
    method = str(scope.get("method", ""))
    method = method if method in _METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def watch_pool(runtime: Runtime) -> Callable[[], None]:
    """Keep the pool gauges current; returns what to run when this process stops."""
    observed.watch_pool(runtime.engine, POOL_SIZE.set, POOL_IN_USE.set)

    def stop() -> None:
        if MULTIPROCESS_ENV in os.environ:
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # its live gauges leave the sums

    return stop


class DatabaseCollector(Collector):
    """Figures about the work, read at scrape time (see the module docstring)."""

    def __init__(self, runtime: Runtime, now: datetime) -> None:
        self.runtime = runtime
        self.now = now

    def collect(self) -> Iterator[Metric]:
        found = observed.read_now(self.runtime.engine, self.now)
        yield CounterMetricFamily(
            "casewatch_imports", "Imports accepted (files, API and page events).", found.imports
        )
        yield CounterMetricFamily(
            "casewatch_events_applied", "Events applied to cases.", found.events_applied
        )
        alerts = CounterMetricFamily(
            "casewatch_alerts_recorded", "SLA alerts recorded, by level.", labels=["level"]
        )
        for level, count in sorted(found.alerts.items()):
            alerts.add_metric([level], count)
        yield alerts
        outbox = GaugeMetricFamily(
            "casewatch_outbox_messages",
            "Outbox messages by state: pending, sent, dead (dead-lettered).",
            labels=["state"],
        )
        for state, count in sorted(found.outbox.items()):
            outbox.add_metric([state], count)
        yield outbox
        yield GaugeMetricFamily(
            "casewatch_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits).",
            value=found.oldest_pending_seconds,
        )
        yield GaugeMetricFamily(
            "casewatch_scan_due_cycles",
            "SLA cycles whose next check has come: the scan's backlog now.",
            value=found.cycles_due,
        )
        yield GaugeMetricFamily(
            "casewatch_scan_oldest_due_age_seconds",
            "How long the longest-waiting due check has waited (0 when none is due).",
            value=found.oldest_due_seconds,
        )
        yield from _passes(found.jobs)


def _passes(jobs: dict[str, observed.JobPass] | Any) -> Iterator[Metric]:
    passes = CounterMetricFamily(
        "casewatch_scheduler_passes", "Passes of each scheduler job.", labels=["job"]
    )
    last = GaugeMetricFamily(
        "casewatch_scheduler_last_pass_timestamp_seconds",
        "When each scheduler job last finished a pass (Unix time).",
        labels=["job"],
    )
    checked = GaugeMetricFamily(
        "casewatch_scheduler_last_pass_handled",
        "Cycles checked (sla_scan) or messages handled (outbox_relay) by the last pass.",
        labels=["job"],
    )
    backlog = GaugeMetricFamily(
        "casewatch_scan_last_pass_backlog_cycles",
        "Cycles still due when the last scan pass ended.",
    )
    for job, info in sorted(jobs.items()):
        passes.add_metric([job], info.passes)
        last.add_metric([job], info.last_at.timestamp())
        checked.add_metric([job], info.last_checked)
        if job == "sla_scan":
            backlog.add_metric([], info.last_backlog)
    yield from (passes, last, checked, backlog)


class _Local(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _LOCAL.collect()


def exposition(runtime: Runtime, now: datetime) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_ENV in os.environ:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Local())
    registry.register(DatabaseCollector(runtime, now))
    return generate_latest(registry)


def may_scrape(request: AnyRequest, allowed: Callable[[str], bool]) -> bool:
    """From an allowed address, or with the token (when one is set) from anywhere."""
    if allowed(client_address(request)):
        return True
    token = os.environ.get(TOKEN_ENV, "")
    sent = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@get("/metrics", sync_to_thread=True, include_in_schema=False)
def metrics(request: AnyRequest) -> Response[bytes]:
    service = service_of(request)
    if not may_scrape(request, service.runtime.config.web.may_scrape):
        service.app.handle(RefuseScrape(client_address(request)))
        return Response(
            b"metrics are served to the configured addresses, or with the metrics token\n",
            status_code=403,
            media_type="text/plain",
        )
    body = exposition(service.runtime, service.clock())
    return Response(body, media_type=MEDIA_TYPE)
