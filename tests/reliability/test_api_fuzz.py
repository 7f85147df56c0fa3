"""The event API against hostile, near-valid bodies (contract section 5, issue 8).

POST /api/v1/cases/{id}/events and POST /api/v1/cases with a caseworker's token: the same
near-valid events as the import fuzz test, as JSON bodies and as raw bytes (invalid UTF-8,
nesting thousands deep, bodies of a megabyte and more). Never a 5xx, never a stack trace;
always the JSON error shape, a 422 naming the field; and the case, read back through the
API, unchanged by any refusal.
"""

from __future__ import annotations

import itertools
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from casewatch.cases.tables import CaseRow, EventRow
from tests.reliability.strategies import API_CASE, ApiRequest, api_requests
from tests.reliability.support import FUZZ, assert_no_stack_trace
from tests.web import Site, api_token

_examples = itertools.count(1)
_tokens: dict[int, dict[str, str]] = {}


def headers_for(site: Site) -> dict[str, str]:
    """A caseworker's API token, issued once per site (each example reuses it)."""
    key = id(site.runtime)
    if key not in _tokens:
        _tokens[key] = {"authorization": f"Bearer {api_token(site.runtime, 'caseworker')}"}
    return _tokens[key] | {"content-type": "application/json"}


def counts(site: Site) -> tuple[int, int]:
    with site.runtime.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        cases = conn.execute(select(func.count()).select_from(CaseRow)).scalar_one()
    return events, cases


# The case as of the last moment an event may carry: an accepted event dated after the
# service's clock (the generated `at` runs to 2999) is in the timeline too.
LAST_MOMENT = "2999-12-31T23:59:59+00:00"


def the_case(client: TestClient[Litestar], headers: dict[str, str]) -> Any:
    response = client.get(
        f"/api/v1/cases/{API_CASE}", params={"as_of": LAST_MOMENT}, headers=headers
    )
    assert response.status_code == 200, response.text[:500]
    return response.json()


def assert_error_shape(response: Any, request: ApiRequest) -> None:
    """{status_code, detail, errors}: a sentence for people, field paths for programs."""
    body = response.json()
    assert set(body) == {"status_code", "detail", "errors"}, body
    assert body["status_code"] == response.status_code
    assert isinstance(body["detail"], str)
    assert body["detail"].strip()
    errors = body["errors"]
    assert errors is None or isinstance(errors, list)
    for error in errors or []:
        assert set(error) == {"field", "error"}, error
        assert isinstance(error["field"], str)
        assert error["field"].strip()
        assert isinstance(error["error"], str)
        assert error["error"].strip()
    if response.status_code == 422:
        assert errors, body
        fields = [e["field"] for e in errors]
        if request.field not in (None, "body"):
            assert any(
                f == request.field or f.startswith((f"{request.field}[", f"{request.field}."))
                for f in fields
            ), (request.field, errors)


@FUZZ
@given(data=st.data())
def test_the_event_api_refuses_bad_bodies_in_words_and_changes_nothing(
    site: Site, client: TestClient[Litestar], data: st.DataObject
) -> None:
    """A 4xx with the JSON error shape for every bad body (a 422 naming the field when the
    body is an object); the case as the API shows it, and every event, as they were. A
    good body is recorded (201)."""
    headers = headers_for(site)
    request = data.draw(api_requests(f"api{next(_examples)}"), label="request")
    hypothesis.event(f"{request.kind} -> {request.status}")
    before, counted = the_case(client, headers), counts(site)

    response = client.post(request.path, content=request.body, headers=headers)

    assert response.status_code < 500, response.text[:1000]
    assert response.status_code == request.status, (request.kind, response.text[:1000])
    if request.status != 201:
        assert_no_stack_trace(response.text)
        assert_error_shape(response, request)
        assert counts(site) == counted
        assert the_case(client, headers) == before
    elif request.changes_the_case:
        after = the_case(client, headers)
        assert len(after["timeline"]) == len(before["timeline"]) + 1
        assert counts(site) == (counted[0] + 1, counted[1])
    elif request.path == "/api/v1/cases":
        assert counts(site) == (counted[0] + 1, counted[1] + 1)
    else:  # an exact repeat of a recorded event
        assert counts(site) == counted
        assert the_case(client, headers) == before


def test_a_body_past_the_size_limit_is_a_413_in_json(
    site: Site, client: TestClient[Litestar]
) -> None:
    """11 MB of text in a field: refused before it is read, in the error shape."""
    body = b'{"type": "contact_attempted", "method": "call", "outcome": "' + b"a" * 11_000_000
    response = client.post(
        f"/api/v1/cases/{API_CASE}/events", content=body + b'"}', headers=headers_for(site)
    )
    assert response.status_code == 413
    assert_error_shape(response, ApiRequest("", b"", 413))


_TOO_DEEP = "nested too deeply: an event may hold at most 64 levels of lists and objects"
# (body, status, field named by the 422 or the 400's detail)
_REFUSALS: list[tuple[bytes, int, str]] = [
    (b'{"type": "sla_paused", "policy": "da-high-risk-idva-contact", "reason": "court"}',
     422, "policy"),
    (b'{"type": "risk_assessed", "matrix": "asb", "answers": ["p1"]}', 422, "answers"),
    (b'{"type": "risk_assessed", "matrix": "asb", "answers": {"p1": "yes"}}', 422, "answers"),
    (b'{"type": "contact_attempted", "method": "call", "x_deep": ' + b"[" * 99 + b"]" * 99 + b"}",
     422, "x_deep"),
    (b'{"type": "contact_attempted", "method": "call", "outcome": "a\\u0000"}', 422, "outcome"),
    (b'{"type": "contact_attempted", "method": "\xff"}', 400,
     "the request body is not valid UTF-8 text"),
    (b'{"type": "contact_attempted", "method": "call", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     422, "x"),
    (b"[" * 3000 + b"]" * 3000, 422, "body"),
]  # fmt: skip


def test_each_refusal_names_its_field_or_says_why(site: Site, client: TestClient[Litestar]) -> None:
    """Fixed examples of what the fuzz test may or may not draw: a policy of another case
    type, ASB answers of the wrong shape, nesting past 64 levels, NUL, invalid UTF-8."""
    headers = headers_for(site)
    before, counted = the_case(client, headers), counts(site)
    for body, status, named in _REFUSALS:
        response = client.post(f"/api/v1/cases/{API_CASE}/events", content=body, headers=headers)
        assert response.status_code == status, (body[:80], response.text[:500])
        assert_error_shape(response, ApiRequest("", body, status, named if status == 422 else None))
        if status == 400:
            assert response.json()["detail"] == named
        if b"[" * 99 in body:  # nesting: the same words at every depth
            [error] = response.json()["errors"]
            words = _TOO_DEEP if named != "body" else f"the request body is {_TOO_DEEP}"
            assert error["error"].endswith(words), error
    assert counts(site) == counted
    assert the_case(client, headers) == before
