"""/metrics on both databases: who may scrape it, what it counts, and that no label ever
carries a case reference or anything about a person."""

from __future__ import annotations

import json
import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from casewatch.engine.tables import AlertRow
from casewatch.service.tables import AuditRow
from casewatch.service.web.metrics import TOKEN_ENV
from tests.web import PEOPLE, SEED, Site, api_token

TOKEN = "scrape-token-for-tests-0123456789"


@pytest.fixture
def scraper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def scrape(client: TestClient[Litestar]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.mark.usefixtures("scraper")
def test_a_scrape_without_the_token_from_elsewhere_is_refused_and_audited(
    site: Site, client: TestClient[Litestar]
) -> None:
    """The test client is not a loopback address: no token, or a wrong one, is a 403 in words."""
    for headers in ({}, {"authorization": "Bearer not-the-token"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 403
        assert "metrics token" in response.text
    with site.runtime.engine.connect() as conn:
        refused = conn.execute(
            select(AuditRow.address).where(AuditRow.action == "metrics.refused")
        ).all()
    assert [row.address for row in refused] == ["testclient", "testclient"]


@pytest.mark.usefixtures("scraper")
def test_the_work_is_counted_from_the_database(site: Site, client: TestClient[Litestar]) -> None:
    """The seed is one import of its 116 lines; the fixture's tick is one scan pass."""
    found = scrape(client)
    assert found[("casewatch_imports_total", ())] == 1
    assert found[("casewatch_events_applied_total", ())] == 116
    assert found[("casewatch_scheduler_passes_total", (("job", "sla_scan"),))] == 1
    assert found[("casewatch_scheduler_passes_total", (("job", "outbox_relay"),))] == 1
    with site.runtime.engine.connect() as conn:
        by_level = {
            row.level: row.n
            for row in conn.execute(
                select(AlertRow.level, func.count().label("n")).group_by(AlertRow.level)
            )
        }
    assert by_level, "the seed's year left alerts to record"
    recorded = {
        dict(labels)["level"]: value
        for (name, labels), value in found.items()
        if name == "casewatch_alerts_recorded_total"
    }
    assert recorded == by_level
    states = {
        dict(labels)["state"]
        for (name, labels), _ in found.items()
        if name == "casewatch_outbox_messages"
    }
    assert states == {"pending", "sent", "dead"}


@pytest.mark.usefixtures("scraper")
def test_requests_are_counted_by_route_template(site: Site, client: TestClient[Litestar]) -> None:
    """Three views of one case count under its route template with their status."""
    headers = {"authorization": f"Bearer {api_token(site.runtime, 'caseworker_other')}"}
    for _ in range(3):  # SEED-01 is asb-south's
        assert client.get("/api/v1/cases/SEED-01", headers=headers).status_code == 200
    client.get("/no/such/page/SEED-01")
    found = scrape(client)
    route = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "200"))
    assert found[("casewatch_http_requests_total", route)] >= 3
    count = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"))
    assert found[("casewatch_http_request_duration_seconds_count", count)] >= 3
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert found[("casewatch_http_requests_total", unmatched)] >= 1


@pytest.mark.usefixtures("scraper")
def test_no_case_reference_or_person_appears_in_the_metrics(
    site: Site, client: TestClient[Litestar]
) -> None:
    """Every case reference, username and victim detail of the seed is absent from a scrape."""
    headers = {"authorization": f"Bearer {api_token(site.runtime, 'manager')}"}
    events = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines()]
    case_ids = {event["case_id"] for event in events}
    for case_id in sorted(case_ids)[:5]:
        client.get(f"/api/v1/cases/{case_id}", headers=headers)
        client.get(f"/cases/{case_id}")
    body = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
    victims = {str(v) for event in events for v in event.get("victim", {}).values()}
    for secret in case_ids | victims:
        assert secret not in body, secret
    # Usernames such as "admin" are also words of the app's own paths (/admin/users), which
    # earlier tests in the process may have counted: a route label must be one of the app's
    # templates, and no other label may hold a username.
    people = {person.username for person in PEOPLE.values()}
    templates = {re.sub(r":\w+}", "}", route.path) for route in client.app.routes}
    templates.add("unmatched")
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            for name, value in sample.labels.items():
                if name == "route":
                    assert value in templates, value
                else:
                    assert value not in people, (name, value)
