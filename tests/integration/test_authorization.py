"""The authorisation matrix: every endpoint of the OpenAPI document by every role (and
nobody signed in), generated from the document, with the expected answer derived from the
access rules. An endpoint added without a rule here fails the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from casewatch.engine.tables import AlertRow
from casewatch.service.access import (
    Action,
    CaseScope,
    Principal,
    Role,
    can_edit_case,
    can_open_case_in,
    can_share_case,
    can_view_case,
)
from tests.web import PEOPLE, Site, api_token

CASE = CaseScope(case_id="SEED-04", team="asb-north", caseworker=None)
HIGH = {"type": "risk_assessed", "matrix": "asb", "level": "high"}

Expect = Callable[[Principal | None], int]


def principal(key: str) -> Principal:
    person = PEOPLE[key]
    return Principal(0, person.username, person.username, Role(person.role), person.agency,
                     person.teams)  # fmt: skip


def signed_in(rule: Callable[[Principal], int]) -> Expect:
    return lambda who: 401 if who is None else rule(who)


def action(allowed: Action, status: int = 200) -> Expect:
    return signed_in(lambda who: status if who.may(allowed) else 403)


def on_the_case(check: Callable[[Principal, CaseScope], bool], status: int) -> Expect:
    """Hidden cases are 404 (a reference cannot be probed); visible but not allowed 403."""

    def rule(who: Principal) -> int:
        if not can_view_case(who, CASE):
            return 404
        return status if check(who, CASE) else 403

    return signed_in(rule)


def opening(who: Principal) -> int:
    if not who.may(Action.OPEN_CASE):
        return 403
    return 201 if can_open_case_in(who, CASE.team) else 422  # 'team': not one of yours


def acknowledging(who: Principal) -> int:
    """The probe alert is a breach on an asb-north case: a team manager's to acknowledge."""
    if not who.may(Action.VIEW_ALERTS):
        return 403
    return 200 if who.role is Role.MANAGER and can_view_case(who, CASE) else 404


# (method, OpenAPI path) -> (how to call it, what each person gets)
RULES: dict[tuple[str, str], tuple[dict[str, Any], Expect]] = {
    ("GET", "/healthz"): ({}, lambda _who: 200),
    ("GET", "/readyz"): ({}, lambda _who: 200),
    ("GET", "/api/v1/me"): ({}, signed_in(lambda _who: 200)),
    ("GET", "/api/v1/cases"): ({}, action(Action.LIST_CASES)),
    ("POST", "/api/v1/cases"): (
        {"json": {"case_type": "asb", "team": "asb-north"}},
        signed_in(opening),
    ),
    ("GET", "/api/v1/cases/{case_id}"): ({}, on_the_case(lambda _w, _c: True, 200)),
    ("POST", "/api/v1/cases/{case_id}/events"): ({"json": HIGH}, on_the_case(can_edit_case, 201)),
    ("POST", "/api/v1/cases/{case_id}/shares"): (
        {"json": {"agency": "police"}},
        on_the_case(can_share_case, 200),
    ),
    ("GET", "/api/v1/alerts"): ({}, action(Action.VIEW_ALERTS)),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): ({}, signed_in(acknowledging)),
    ("GET", "/api/v1/reports/sla"): ({"params": {"period": "FY2014"}}, action(Action.VIEW_REPORTS)),
    ("GET", "/api/v1/audit"): ({}, action(Action.VIEW_AUDIT)),
}
WHO = [None, *PEOPLE]


def test_every_endpoint_has_a_rule(site: Site) -> None:
    """The matrix covers exactly the operations the OpenAPI document lists."""
    with TestClient(site.app) as client:
        document = client.get("/api/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations == set(RULES)


def test_the_authorisation_matrix(site: Site) -> None:
    """Each (endpoint, person) pair answers as the access rules say; all pairs are run."""
    alert_id = _breach_on_the_case(site)
    tokens = {key: api_token(site.runtime, key) for key in PEOPLE}
    wrong: list[str] = []
    runs = 0
    with TestClient(site.app) as client:
        for (method, path), (call, expect) in RULES.items():
            url = path.format(case_id=CASE.case_id, alert_id=alert_id)
            for key in WHO:
                headers = {"authorization": f"Bearer {tokens[key]}"} if key else {}
                response = client.request(method, url, headers=headers, **call)
                wanted = expect(principal(key) if key else None)
                runs += 1
                if response.status_code != wanted:
                    wrong.append(
                        f"{method} {path} as {key or 'nobody'}: got {response.status_code}, "
                        f"expected {wanted}: {response.text[:150]}"
                    )
    assert runs == len(RULES) * len(WHO)
    assert not wrong, "\n".join(wrong)


def _breach_on_the_case(site: Site) -> int:
    with site.runtime.engine.connect() as conn:
        found = conn.execute(
            select(AlertRow.id).where(AlertRow.case_id == CASE.case_id, AlertRow.level == "breach")
        ).first()
    assert found, "the seed gives SEED-04 a breach alert"
    return int(found[0])
