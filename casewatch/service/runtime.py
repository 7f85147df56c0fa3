"""Builds what a command needs — configuration and a migrated database — exactly once."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from casewatch.cases.db import create_db_engine
from casewatch.cases.store import Projector
from casewatch.engine.fact_store import MeasureFactProjector
from casewatch.engine.store import DerivedHook, DerivedProjector, Rulesets
from casewatch.migrations.schema import current_revision, head_revision, upgrade
from casewatch.service.config import Config, database_url, load_config
from casewatch.service.logging import get_logger
from casewatch.service.observed import record_pass

if TYPE_CHECKING:
    from casewatch.notifications.channels import Channel

log = get_logger(__name__)


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be reached or is not at the schema this version needs."""


@frozen
class Runtime:
    config: Config
    engine: Engine
    url: str

    def projectors(
        self, rulesets: Rulesets | None = None, on_derived: DerivedHook | None = None
    ) -> list[Projector]:
        """What an append re-derives: the case row first (cycles refer to it), then its
        cycles and flags, all from one fold of each case; then its measure facts.
        `rulesets`: ones the caller keeps across writes (their matcher's answers and what
        they know is stored), else the configuration's, new; `on_derived`: told what was
        derived (DerivedProjector)."""
        return [
            DerivedProjector(rulesets or self.config.rulesets(), on_derived),
            MeasureFactProjector(),
        ]

    def channels(self) -> dict[str, Channel]:
        """The enabled delivery channels, from the environment: built here only, for
        `tick`, `worker` and the scheduler `serve` runs."""
        # Imported here, as the scan and relay below: their HTTP, e-mail and template
        # libraries are start-up a report or an import does not need.
        from casewatch.notifications.channels import channels_from_env  # noqa: PLC0415

        routing = self.config.routing
        return channels_from_env(os.environ, routing.channels, routing.timeout.total_seconds())

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def open_runtime(
    db_option: str | None, config_dir: str | None, *, migrate: bool = False
) -> Runtime:
    """Load configuration and connect. `migrate` upgrades the schema (casewatch init);
    otherwise an empty database is initialised and an outdated one refused."""
    config = load_config(config_dir)
    url = database_url(db_option)
    engine = create_db_engine(url)
    runtime = Runtime(config=config, engine=engine, url=url)
    try:
        if migrate:
            upgrade(engine)
            return runtime
        current = current_revision(engine)
        if current is None and not inspect(engine).get_table_names():
            log.info("database_initialised", action="init", database=runtime.safe_url)
            upgrade(engine)
        elif current != head_revision():
            engine.dispose()
            raise DatabaseUnavailableError(
                f"the database {runtime.safe_url} is at schema {current or 'unknown'}, "
                f"this casewatch needs {head_revision()}: run `casewatch init` to migrate it"
            )
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailableError(
            f"cannot use the database {runtime.safe_url}: {_first_line(exc.orig or exc)}"
        ) from None
    return runtime


def database_state(runtime: Runtime) -> tuple[str, str]:
    """Whether the database answers, and whether its schema is this version's: what
    /readyz reports."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if current_revision(runtime.engine) != head_revision():
            return "reachable", "outdated: run casewatch init"
    except Exception:
        return "unreachable", "unknown"
    return "reachable", "current"


def database_outage(exc: BaseException) -> str | None:
    """The driver's error type when `exc` means the database went away (restart,
    failover, network) or stayed locked: a state that passes, not a fault. None otherwise."""
    if isinstance(exc, OperationalError):
        return type(exc.orig or exc).__name__
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run_tick(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """One scan and one relay pass at `now`: what `casewatch tick` and each worker do."""
    from casewatch.notifications.relay import relay  # noqa: PLC0415 - as in `channels`
    from casewatch.notifications.scan import scan  # noqa: PLC0415

    config = runtime.config
    scanned = scan(runtime.engine, config.rulesets(), config.routing, now, config.timezone)
    relayed = relay(runtime.engine, runtime.channels(), config.routing, now)
    finished = datetime.now(UTC)  # when the pass ran, whatever `now` it ran as
    record_pass(runtime.engine, "sla_scan", finished, scanned.cycles_checked, scanned.backlog)
    handled = relayed.sent + relayed.failed + relayed.dead
    record_pass(runtime.engine, "outbox_relay", finished, handled, 0)
    return {
        "now": now.astimezone(config.timezone).isoformat(),
        "warnings": scanned.warnings,
        "breaches": scanned.breaches,
        "escalations": scanned.escalations,
        "notifications_queued": scanned.queued,
        "notifications_sent": relayed.sent,
        "backlog": scanned.backlog,
    }
