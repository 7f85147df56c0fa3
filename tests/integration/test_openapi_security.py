"""The OpenAPI document's security schemes (API token, session cookie, CSRF header) and
per-operation requirements, checked as declared and used by schemathesis' OpenAPI-aware
authentication: given only credentials per scheme, it signs requests the service accepts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from sqlalchemy import select

from casewatch.service import accounts
from casewatch.service.tables import CaseShareRow, UserRow
from casewatch.service.web.security import SESSION_COOKIE
from tests.web import NOW, PEOPLE, Site, api_token

READ = [{"apiToken": []}, {"sessionCookie": []}]
WRITE = [{"apiToken": []}, {"sessionCookie": [], "csrfToken": []}]
ONCE = settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> Iterator[None]:
    """As in test_openapi_fuzz.py: schemathesis 4.32.5 expects `Function._nodeid`."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    yield
    asgi.shutdown_lifespans()


def loaded_with(site: Site, schemes: dict[str, dict[str, str]]) -> Any:
    """The served document, loaded by schemathesis with credentials for these schemes."""
    config = SchemathesisConfig.from_dict({"auth": {"openapi": schemes}})
    return schemathesis.openapi.from_asgi("/api/openapi.json", site.app, config=config)


def share_status(operation: Any) -> int:
    """The status of sharing SEED-02 through a case schemathesis generated and signed."""
    seen: list[int] = []

    @ONCE
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        case.path_parameters = {"case_id": "SEED-02"}
        case.body = {"agency": "police"}
        seen.append(case.call().status_code)

    call()
    assert len(set(seen)) == 1, seen
    return seen[0]


def test_every_api_operation_declares_who_may_call_it(client: TestClient[Litestar]) -> None:
    """Three schemes are declared; every /api/v1 read takes a token or a session, every
    write a token or a session with its CSRF header; health checks need nothing."""
    document = client.get("/api/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "description": "",
    }  # fmt: skip
    assert {k: schemes["sessionCookie"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
    }  # fmt: skip
    assert {k: schemes["csrfToken"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
    }  # fmt: skip
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    api = [(p, m, o) for p, m, o in operations if p.startswith("/api/v1/")]
    assert len(api) >= 10
    for path, method, operation in api:
        expected = READ if method == "get" else WRITE
        assert operation.get("security") == expected, (method, path)
    for path in ("/healthz", "/readyz"):
        assert "security" not in document["paths"][path]["get"]


def test_schemathesis_sends_the_api_token_the_scheme_declares(site: Site) -> None:
    """Configured with a token for `apiToken` alone, schemathesis puts it where the
    scheme says and the service knows who is asking."""
    loaded = loaded_with(site, {"apiToken": {"bearer": api_token(site.runtime, "manager")}})
    operation = loaded["/api/v1/me"]["GET"]

    @ONCE
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        response = case.call()
        assert response.status_code == 200, response.text
        assert response.json()["username"] == PEOPLE["manager"].username

    call()


def test_schemathesis_signs_writes_with_the_session_and_its_csrf_header(site: Site) -> None:
    """With a session cookie and its CSRF token for the two schemes, schemathesis meets
    the write requirement (both together) and a share is recorded; with the cookie alone
    it cannot meet it and sends no credentials (401); a wrong token is refused (403)."""
    with site.runtime.engine.connect() as conn, conn.begin():
        user_id = conn.execute(
            select(UserRow.id).where(UserRow.username == PEOPLE["caseworker"].username)
        ).scalar_one()
        session, csrf = accounts.start_session(conn, user_id, NOW)  # as signing in does
    outcomes: dict[str, int] = {}
    for label, schemes in {
        "session and csrf": {
            "sessionCookie": {"api_key": session},
            "csrfToken": {"api_key": csrf},
        },
        "session alone": {"sessionCookie": {"api_key": session}},
        "wrong csrf": {"sessionCookie": {"api_key": session}, "csrfToken": {"api_key": "forged"}},
    }.items():
        operation = loaded_with(site, schemes)["/api/v1/cases/{case_id}/shares"]["POST"]
        outcomes[label] = share_status(operation)
    assert outcomes == {"session and csrf": 200, "session alone": 401, "wrong csrf": 403}
    with site.runtime.engine.connect() as conn:
        shares = conn.execute(select(CaseShareRow.agency).where(CaseShareRow.case_id == "SEED-02"))
        assert "police" in shares.scalars().all()
