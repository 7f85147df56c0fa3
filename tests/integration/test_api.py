"""The JSON API on both databases: cases, events and their errors, lists, alerts, reports,
sessions and CSRF, throttling, the audit trail and what the PSG role never receives."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from casewatch.app.commands import RecordEvent
from casewatch.app.repositories import SqlCases
from casewatch.cases.tables import EventRow
from casewatch.engine.consistency import check_cases
from casewatch.engine.evaluators import durable_loads
from casewatch.service import accounts, audit
from casewatch.service.tables import AuditRow, UserRow
from tests.cli import casewatch
from tests.web import PASSWORD, PEOPLE, SEED, Site, api_token, csrf_of, login_token, sign_in

HIGH_DASH = [True] * 14 + [False] * 10


def bearer(site: Site, who: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_token(site.runtime, who)}"}


def audit_actions(site: Site, case_id: str) -> list[str]:
    with site.runtime.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditRow.action).where(AuditRow.case_id == case_id).order_by(AuditRow.id)
            ).scalars()
        )


def event_count(site: Site) -> int:
    with site.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(EventRow)).scalar_one())


def open_case(client: TestClient[Litestar], headers: dict[str, str], **fields: Any) -> Any:
    body = {"case_type": "asb", "team": "asb-north", "victim": {"name": "Ada Testcase"}} | fields
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_case_is_opened_assessed_and_met_through_the_api(
    site: Site, client: TestClient[Litestar]
) -> None:
    """Open, assess high, hold a conference: the view shows cycles, RAG and the victim."""
    headers = bearer(site, "caseworker")
    opened = open_case(client, headers, at="2015-03-30T09:00:00+01:00")
    case_id = opened["case_id"]
    assert case_id.startswith("ASB-")
    assert opened["caseworker"] == "cw.north"
    assert opened["victim"] == {"name": "Ada Testcase"}
    assessed = client.post(
        f"/api/v1/cases/{case_id}/events",
        json={"type": "risk_assessed", "matrix": "dash", "answers": HIGH_DASH,
              "at": "2015-03-30T10:00:00+01:00"},
        headers=headers,
    )  # fmt: skip
    assert assessed.status_code == 201, assessed.text
    cycles = {c["policy"]: c for c in assessed.json()["cycles"]}
    assert assessed.json()["risk"]["level"] == "high"
    assert cycles["asb-high-risk-conference"]["state"] == "running"
    assert cycles["asb-high-risk-conference"]["rag"] == "green"
    held = client.post(
        f"/api/v1/cases/{case_id}/events",
        json={"type": "case_conference_held", "agencies": ["police"],
              "at": "2015-03-31T10:00:00+01:00"},
        headers=headers,
    )  # fmt: skip
    conference = next(c for c in held.json()["cycles"] if c["policy"] == "asb-high-risk-conference")
    assert conference["outcome"] == "met"
    client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert audit_actions(site, case_id) == [
        "case.open", "event.record", "event.record", "case.view",
    ]  # fmt: skip


def test_a_view_whose_audit_row_fails_is_not_shown(
    site: Site, client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view whose audit row cannot be committed answers an error, and leaves no row."""
    headers = bearer(site, "caseworker")
    case_id = open_case(client, headers)["case_id"]
    record = audit.record

    def fails_after_writing(conn: Connection, who: Any, action: str, **fields: Any) -> None:
        record(conn, who, action, **fields)
        if action == "case.view":
            raise RuntimeError("the audit write failed")

    monkeypatch.setattr(audit, "record", fails_after_writing)
    response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 500
    assert "Ada Testcase" not in response.text
    assert case_id not in response.text
    assert audit_actions(site, case_id) == ["case.open"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "contact_attempted"}, "method"),
        ({"type": "contact_attempted", "method": "fax"}, "method"),
        ({"type": "incident_reported", "category": "noise", "at": "2015-03-01T10:00:00"}, "at"),
        ({"type": "risk_assessed", "matrix": "dash", "answers": [True]}, "answers"),
        ({"type": "risk_assessed", "matrix": "asb", "answers": {"zz": True}}, "answers"),
        ({"type": "teleported"}, "type"),
        ({"type": "sla_paused", "policy": "nope", "reason": "x"}, "policy"),
        ({"type": "sla_paused", "policy": "asb-high-risk-conference"}, "reason"),
        ({"type": "partner_actions_agreed", "actions": [{"action": "visit"}]}, "actions[0].agency"),
        (
            {"type": "risk_assessed", "matrix": "dash", "answers": HIGH_DASH,
             "professional_judgement": {"level": "medium", "reason": "calmer"}},
            "professional_judgement",
        ),
        ({"type": "risk_assessed", "matrix": "asb", "level": "high",
          "professional_judgement": {"level": "high"}}, "professional_judgement.reason"),
        ({"type": "referral_made", "to": "marac", "case_id": "SEED-04"}, "case_id"),
        ({"type": "case_opened", "case_type": "asb"}, "type"),
        ({"type": "idva_contact_made", "event_id": "x" * 201}, "event_id"),
        ({"type": "referral_made", "to": "marac", "police_attended": "yes", "extra": {"deep": [1]}},
         None),
    ],
)  # fmt: skip
def test_a_rejected_event_names_its_field_and_applies_nothing(
    site: Site, client: TestClient[Litestar], body: dict[str, Any], field: str | None
) -> None:
    """422 with the field path and the validator's words; the event log is unchanged."""
    headers = bearer(site, "caseworker")
    before = event_count(site)
    response = client.post("/api/v1/cases/SEED-02/events", json=body, headers=headers)
    if field is None:  # unknown extra fields are kept, as in an import
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["error"] for e in errors)
    assert "Traceback" not in response.text
    assert event_count(site) == before


def test_an_event_id_reused_with_other_content_is_refused(
    site: Site, client: TestClient[Litestar]
) -> None:
    """The same id twice: identical content is a no-op, different content a 422 on event_id."""
    headers = bearer(site, "caseworker")
    event = {"event_id": "api-1", "type": "contact_attempted", "method": "call",
             "at": "2015-03-20T10:00:00Z"}  # fmt: skip
    assert (
        client.post("/api/v1/cases/SEED-02/events", json=event, headers=headers).status_code == 201
    )
    before = event_count(site)
    again = client.post("/api/v1/cases/SEED-02/events", json=event, headers=headers)
    assert again.status_code == 201
    changed = client.post(
        "/api/v1/cases/SEED-02/events", json=event | {"method": "visit"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "event_id"
    assert event_count(site) == before


@pytest.mark.parametrize(
    "raw", [b"[1, 2]", b'"text"', b"{not json", b"\xff\xfe", b'{"a":' * 300 + b"1" + b"}" * 300]
)
def test_a_body_that_is_not_an_object_is_a_clear_400(
    site: Site, client: TestClient[Litestar], raw: bytes
) -> None:
    """Arrays, strings, broken or deeply nested JSON: a 400 in words, never a 500."""
    headers = bearer(site, "caseworker") | {"content-type": "application/json"}
    response = client.post("/api/v1/cases/SEED-02/events", content=raw, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]


def test_the_case_list_filters(site: Site, client: TestClient[Litestar]) -> None:
    """Team, risk, breached and due-within filters narrow the manager's list."""
    headers = bearer(site, "manager")
    every = client.get("/api/v1/cases", params={"status": "all"}, headers=headers).json()
    assert every and {c["team"] for c in every} <= {"asb-north", "da-idva"}
    high = client.get("/api/v1/cases", params={"status": "all", "risk": "high"}, headers=headers)
    assert {c["risk_level"] for c in high.json()} == {"high"}
    breached = client.get(
        "/api/v1/cases", params={"status": "all", "breached": "true"}, headers=headers
    ).json()
    assert breached and all(c["breached"] and c["rag"] == "red" for c in breached)
    case_id = open_case(client, headers)["case_id"]
    client.post(
        f"/api/v1/cases/{case_id}/events",
        json={"type": "risk_assessed", "matrix": "asb", "level": "high"},
        headers=headers,
    )
    soon = client.get("/api/v1/cases", params={"due_within_days": 6}, headers=headers).json()
    assert case_id in [c["case_id"] for c in soon]
    later = client.get("/api/v1/cases", params={"due_within_days": 1}, headers=headers).json()
    assert case_id not in [c["case_id"] for c in later]
    bad = client.get("/api/v1/cases", params={"risk": "extreme"}, headers=headers)
    assert bad.status_code == 400


def test_a_manager_acknowledges_an_alert_once(site: Site, client: TestClient[Litestar]) -> None:
    """Breaches of the manager's teams are in the inbox; acknowledging one is recorded once."""
    headers = bearer(site, "manager")
    inbox = client.get("/api/v1/alerts", headers=headers).json()
    breaches = [a for a in inbox if a["level"] == "breach"]
    assert breaches
    assert all(a["case_id"] in _cases_of(client, headers) for a in inbox)
    first = breaches[0]
    done = client.post(f"/api/v1/alerts/{first['id']}/acknowledge", headers=headers)
    assert done.status_code == 200
    assert done.json()["acknowledged_by"] == "mgr.north"
    assert client.post(f"/api/v1/alerts/{first['id']}/acknowledge", headers=headers).json() == (
        done.json()
    )
    assert first["id"] not in [
        a["id"] for a in client.get("/api/v1/alerts", headers=headers).json()
    ]
    assert audit_actions(site, first["case_id"]).count("alert.acknowledge") == 1
    for no_such in (0, 2**70):  # past bigint: still a plain 404, on PostgreSQL too
        assert (
            client.post(f"/api/v1/alerts/{no_such}/acknowledge", headers=headers).status_code == 404
        )
    other = bearer(site, "manager_other")
    assert (
        client.post(f"/api/v1/alerts/{first['id']}/acknowledge", headers=other).status_code == 404
    )


def _cases_of(client: TestClient[Litestar], headers: dict[str, str]) -> set[str]:
    listed = client.get("/api/v1/cases", params={"status": "all", "limit": 500}, headers=headers)
    return {c["case_id"] for c in listed.json()}


def test_the_sla_report_endpoint_is_the_cli_report(
    site: Site, client: TestClient[Litestar]
) -> None:
    """GET /reports/sla returns contract section 4, as `casewatch report sla` does."""
    headers = bearer(site, "psg")
    response = client.get(
        "/api/v1/reports/sla",
        params={"period": "FY2014", "as_of": "2015-04-01T12:00:00+01:00", "by": "team"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    cli = casewatch(
        "report", "sla", "--period", "FY2014", "--as-of", "2015-04-01T12:00:00+01:00",
        "--by", "team", "--format", "json", db=site.runtime.url,
    )  # fmt: skip
    assert response.json() == cli.json()
    bad = client.get("/api/v1/reports/sla", params={"period": "2014-Q5"}, headers=headers)
    assert bad.status_code == 400
    assert "2014-Q5" in bad.json()["detail"]


def test_browser_sessions_need_the_csrf_token_and_end_on_sign_out(
    site: Site, client: TestClient[Litestar]
) -> None:
    """A session cookie alone cannot post; with the token it can; signing out ends it."""
    browser = sign_in(client, "caseworker")
    cookie = client.cookies.get("casewatch_session")
    assert cookie
    body = {"type": "contact_attempted", "method": "call"}
    refused = client.post("/api/v1/cases/SEED-02/events", json=body)
    assert refused.status_code == 403
    accepted = browser.api("POST", "/api/v1/cases/SEED-02/events", json=body)
    assert accepted.status_code == 201
    browser.form("/logout", {})
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("base_url", ["https://casewatch.example", "http://127.0.0.1:8000"])
def test_the_session_cookie_is_httponly_samesite_and_secure(site: Site, base_url: str) -> None:
    """The cookie cannot be read by scripts nor sent cross-site, and only over TLS (or on
    loopback, which browsers treat as a secure context)."""
    person = PEOPLE["psg"]
    with TestClient(site.app, base_url=base_url) as client:
        token = csrf_of(client.get("/login").text)
        client.cookies.clear()  # the client would not send a Secure cookie over plain http
        response = client.post(
            "/login",
            data={"username": person.username, "password": PASSWORD, "csrf_token": token},
            headers={"cookie": f"casewatch_login={token}"},
            follow_redirects=False,
        )
    assert response.status_code == 303
    [header] = [
        c.lower()
        for c in response.headers.get_list("set-cookie")
        if c.startswith("casewatch_session=")
    ]
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" in header


def test_repeated_wrong_passwords_are_throttled(site: Site, client: TestClient[Litestar]) -> None:
    """After five failures even the right password waits; the refusals are audited."""
    person = PEOPLE["caseworker"]
    for _ in range(5):
        wrong = client.post(
            "/login",
            data={
                "username": person.username,
                "password": "nope",
                "csrf_token": login_token(client),
            },
        )
        assert wrong.status_code == 401
    right = client.post(
        "/login",
        data={"username": person.username, "password": PASSWORD, "csrf_token": login_token(client)},
    )
    assert right.status_code == 429
    with site.runtime.engine.connect() as conn:
        refused = conn.execute(
            select(func.count()).where(AuditRow.action == "user.sign_in_refused")
        ).scalar_one()
    assert refused == 6


def test_the_audit_log_is_listed_for_admins_and_cannot_be_changed(
    site: Site, client: TestClient[Litestar]
) -> None:
    """Every view is in the log; admins read it per case; the database refuses edits."""
    client.get("/api/v1/cases/SEED-02", headers=bearer(site, "caseworker"))
    listed = client.get(
        "/api/v1/audit", params={"case_id": "SEED-02"}, headers=bearer(site, "admin")
    )
    assert listed.status_code == 200
    assert [e["action"] for e in listed.json()] == ["case.view"]
    assert listed.json()[0]["username"] == "cw.north"
    by_user = client.get(
        "/api/v1/audit", params={"username": "cw.north"}, headers=bearer(site, "admin")
    )
    assert {e["username"] for e in by_user.json()} == {"cw.north"}
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), site.runtime.engine.begin() as conn:
            conn.execute(text(statement))


def test_the_psg_role_never_receives_a_victims_details(
    site: Site, client: TestClient[Litestar]
) -> None:
    """Every GET a PSG member can make is free of every victim detail in the seed."""
    details = set()
    for line in SEED.read_text(encoding="utf-8").splitlines():
        details.update(json.loads(line).get("victim", {}).values())
    assert details
    headers = bearer(site, "psg")
    cases = client.get("/api/v1/cases", params={"status": "all", "limit": 500}, headers=headers)
    bodies = [cases.text]
    bodies += [
        client.get(f"/api/v1/cases/{c['case_id']}", headers=headers).text for c in cases.json()
    ]
    bodies.append(client.get("/api/v1/alerts", headers=headers).text)
    bodies.append(
        client.get(
            "/api/v1/reports/sla", params={"period": "FY2014", "details": "true"}, headers=headers
        ).text
    )
    assert len(bodies) > 20
    leaked = {d for d in details for body in bodies if d in body}
    assert not leaked
    caseworker_view = client.get("/api/v1/cases/SEED-02", headers=bearer(site, "caseworker"))
    assert caseworker_view.json()["victim"]  # the detail exists; only the PSG lacks it


def test_a_database_outage_is_a_503_to_retry_on_the_api_and_the_pages(
    site: Site, client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a restarting PostgreSQL looks like from a request: words and Retry-After, no
    500 (tests/reliability restarts a real cluster under load)."""

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    browser = sign_in(client, "caseworker")
    monkeypatch.setattr(SqlCases, "page", unavailable)  # every case list reads through it
    answer = client.get("/api/v1/cases", headers=bearer(site, "caseworker"))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["detail"] == (
        "the database is unavailable at the moment; try again shortly"
    )
    page = browser.client.get("/cases")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "the database is unavailable at the moment" in page.text


def test_health_and_readiness(site: Site, client: TestClient[Litestar]) -> None:
    """/healthz is up; /readyz reports the database, the schema, the scheduler and the
    rule matcher in use."""
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready", "database": "reachable", "schema": "current",
        "scheduler": "not in this process",
        "matcher": "durable" if durable_loads() else "reference",
    }  # fmt: skip


def test_two_writers_on_one_case_lose_nothing(site: Site) -> None:
    """Concurrent posts to one case (the service layer the API calls, from two threads,
    each with its own connections) all land, and the case equals the fold of its events."""
    application = site.app.state["service"].app
    with site.runtime.engine.connect() as conn:
        who = accounts.principal_of(
            conn.execute(select(UserRow).where(UserRow.username == "cw.north")).one()
        )
    before = event_count(site)
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def post(writer: int) -> None:
        start.wait()
        for n in range(10):
            body = {"type": "contact_attempted", "method": "call",
                    "at": f"2015-03-{10 + n:02d}T1{writer}:00:00Z"}  # fmt: skip
            try:
                application.handle(RecordEvent(who, "SEED-02", body, "test"))
            except Exception as exc:
                failures.append(exc)

    writers = [threading.Thread(target=post, args=(w,)) for w in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert not failures
    assert event_count(site) == before + 20
    with site.runtime.engine.connect() as conn:
        checked, differences = check_cases(conn, site.runtime.config.rulesets(), None)
    assert checked > 0
    assert differences == []


def test_the_openapi_document_describes_every_endpoint(client: TestClient[Litestar]) -> None:
    """The document is served at /api/openapi.json and has a schema for the case view."""
    document = client.get("/api/openapi.json").json()
    assert "/api/v1/cases/{case_id}/events" in document["paths"]
    assert "CaseView" in document["components"]["schemas"]
