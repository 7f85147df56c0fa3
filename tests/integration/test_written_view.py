"""The answer to a write is the case as a view of it right after shows it, on SQLite and
PostgreSQL: built from the derivation the write made, it must equal, field for field,
the case replayed from the database as of the same moment (`current_view`), for a new
case, linked victims' cases, events that start and stop cycles, a duplicate post and an
event later than now (both of which fall back to replaying)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from sqlalchemy import Engine

from casewatch.app.bus import Application
from casewatch.app.commands import OpenCase, RecordEvent
from casewatch.app.handlers.cases import current_view
from casewatch.service import accounts
from casewatch.service.access import Principal
from casewatch.service.bootstrap import bootstrap
from casewatch.service.config import Config
from casewatch.service.runtime import Runtime
from casewatch.service.views import CaseView

NOW: Final = datetime(2024, 6, 3, 10, tzinfo=UTC)
TEAM: Final = "asb-north"


@pytest.fixture
def posting(engine: Engine, config: Config) -> tuple[Application, Principal]:
    runtime = Runtime(config=config, engine=engine, url=str(engine.url))
    with engine.begin() as conn:
        accounts.add_user(
            conn,
            username="k.doyle",
            display_name="K Doyle",
            role="caseworker",
            agency="council",
            teams=[TEAM],
            password="correct horse battery",
            now=NOW,
        )
        who = accounts.list_users(conn)[0]
    return bootstrap(runtime, clock=lambda: NOW), who


def replayed(app: Application, who: Principal, case_id: str) -> CaseView:
    return current_view(app.unit_of_work(), app.deps, who, case_id, None)


def at(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def test_every_answer_equals_the_replayed_case(
    posting: tuple[Application, Principal],
) -> None:
    app, who = posting
    victim = {"name": "A Person", "reference": "P-0001"}
    opened: list[CaseView] = []
    for case_id in ("ASB-A", "ASB-B"):
        body: dict[str, Any] = {"case_id": case_id, "case_type": "asb", "team": TEAM}
        view = app.handle(OpenCase(who, {**body, "victim": victim, "at": at(30)}))
        assert view == replayed(app, who, case_id)
        opened.append(view)
    assert opened[1].other_cases == ["ASB-A"]  # the same victim's: linked
    posts: list[tuple[str, dict[str, Any]]] = [
        ("ASB-A", {"type": "risk_assessed", "matrix": "asb", "level": "high", "at": at(29)}),
        ("ASB-B", {"type": "incident_reported", "category": "noise", "at": at(20)}),
        ("ASB-A", {"type": "incident_reported", "category": "noise", "at": at(19)}),
        ("ASB-A", {"type": "contact_attempted", "method": "call"}),  # at: now
        ("ASB-B", {"type": "risk_assessed", "matrix": "asb", "level": "medium", "at": at(1)}),
        ("ASB-A", {"type": "case_closed", "at": at(0.5)}),
        ("ASB-B", {"type": "contact_attempted", "method": "visit", "at": at(-2)}),  # later
    ]
    for case_id, body in posts:
        view = app.handle(RecordEvent(who, case_id, body))
        assert view == replayed(app, who, case_id), body["type"]
    assert any(cycle.policy for cycle in replayed(app, who, "ASB-A").cycles)
    again = {"event_id": "web-repeat", "type": "contact_attempted", "method": "call"}
    first = app.handle(RecordEvent(who, "ASB-B", again))
    duplicate = app.handle(RecordEvent(who, "ASB-B", again))
    assert first == duplicate == replayed(app, who, "ASB-B")


def test_a_case_without_a_victim_link_lists_no_other_cases(
    posting: tuple[Application, Principal],
) -> None:
    app, who = posting
    body = {"case_id": "ASB-C", "case_type": "asb", "team": TEAM, "at": at(3)}
    app.handle(OpenCase(who, {**body, "victim": {"name": "Someone"}}))
    view = app.handle(RecordEvent(who, "ASB-C", {"type": "incident_reported", "category": "noise"}))
    assert view == replayed(app, who, "ASB-C")
    assert view.other_cases == []
    assert view.victim == {"name": "Someone"}
