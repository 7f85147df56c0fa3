"""The server-rendered pages through the test client: each role's pages render, forms
keep what was typed when rejected, posts redirect, and pages refuse other roles."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from casewatch.service.config import load_config
from tests.cli import casewatch
from tests.web import PEOPLE, Site, sign_in

PAGES = {
    "caseworker": ["/cases", "/cases?mine=0", "/cases/new", "/cases/SEED-02",
                   "/cases/SEED-02/assess/dash", "/cases/SEED-02/assess/asb", "/alerts"],
    "manager": ["/team", "/cases", "/alerts", "/reports", "/reports?period=FY2014&by=team"],
    "psg": ["/reports", "/cases", "/cases/SEED-02", "/alerts"],
    "admin": ["/admin/users", "/admin/audit", "/admin/audit?case_id=SEED-02"],
}  # fmt: skip
REFUSED = {
    "caseworker": ["/reports", "/team", "/admin/users", "/admin/audit"],
    "psg": ["/cases/new", "/team", "/admin/users"],
    "admin": ["/cases", "/reports", "/alerts"],
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_each_role_reaches_its_pages_and_no_others(client: TestClient[Litestar], who: str) -> None:
    """Every page of the role renders; pages of other roles are refused in words."""
    sign_in(client, who)
    for path in PAGES[who]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert "<main>" in response.text
    for path in REFUSED.get(who, []):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.text


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient[Litestar]) -> None:
    """A page asked for without a session redirects to /login and back after it."""
    response = client.get("/cases/SEED-02", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=/cases/SEED-02"


def test_a_dash_assessment_from_the_form_makes_the_case_high(
    client: TestClient[Litestar],
) -> None:
    """Fourteen ticks make a high DASH score; the case page then shows running targets."""
    browser = sign_in(client, "caseworker")
    dash = load_config(None).matrices.dash
    ticks = {question.id: "on" for question in dash.questions[:14]}
    response = browser.form("/cases/SEED-02/assess/dash", ticks | {"at": "2015-03-31T09:00"})
    assert response.status_code == 200
    assert 'id="risk-level">High' in response.text
    assert "score 14 (DASH)" in response.text


def test_a_rejected_form_keeps_what_was_typed(client: TestClient[Litestar]) -> None:
    """A pause without a reason: 422, the validator's words, the typed values kept."""
    browser = sign_in(client, "caseworker")
    response = browser.form(
        "/cases/SEED-02/events",
        {"type": "sla_paused", "policy": "asb-high-risk-conference", "at": "2015-03-31T10:15"},
    )
    assert response.status_code == 422
    assert "&#39;reason&#39; is missing" in response.text or "'reason' is missing" in response.text
    assert 'value="2015-03-31T10:15"' in response.text
    assert re.search(r'<option value="asb-high-risk-conference" selected>', response.text)


def test_opening_a_case_from_the_page(client: TestClient[Litestar]) -> None:
    """The new-case form opens a case in the caseworker's team and shows it."""
    browser = sign_in(client, "caseworker")
    response = browser.form(
        "/cases/new",
        {"case_type": "asb", "team": "asb-north", "case_id": "WEB-1", "victim_name": "Pat Page"},
    )
    assert response.status_code == 200
    assert "WEB-1" in response.text
    assert "Pat Page" in response.text
    wrong_team = browser.form(
        "/cases/new", {"case_type": "asb", "team": "asb-south", "victim_name": "Kept Name"}
    )
    assert wrong_team.status_code == 422
    assert 'value="Kept Name"' in wrong_team.text


def test_a_form_without_its_csrf_token_is_refused(client: TestClient[Litestar]) -> None:
    """A cross-site post (no token) changes nothing."""
    sign_in(client, "caseworker")
    response = client.post("/cases/new", data={"case_type": "asb", "team": "asb-north"})
    assert response.status_code == 403


def test_report_downloads(client: TestClient[Litestar]) -> None:
    """Each download button gives its file type, named after the period."""
    sign_in(client, "psg")
    for fmt, start in {"csv": b"", "html": b"<!doctype html", "png": b"\x89PNG",
                       "xlsx": b"PK"}.items():  # fmt: skip
        response = client.get(f"/reports/download/{fmt}?period=FY2014")
        assert response.status_code == 200, fmt
        assert response.content.lower().startswith(start.lower())
        assert "FY2014-" in response.headers["content-disposition"]
    assert client.get("/reports/download/pdf?period=FY2014").status_code == 404


def test_an_admin_adds_a_user_who_can_sign_in(client: TestClient[Litestar], site: Site) -> None:
    """The Users page adds a person; a weak password is refused with the reason."""
    admin = sign_in(client, "admin")
    weak = admin.form(
        "/admin/users",
        {"username": "new.person", "role": "psg", "agency": "csp", "password": "short"},
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.text
    done = admin.form(
        "/admin/users",
        {"username": "new.person", "role": "psg", "agency": "csp", "password": "a long enough one"},
    )
    assert done.status_code == 200
    listed = casewatch("users", "list", db=site.runtime.url).json()
    assert "new.person" in [u["username"] for u in listed]
    assert {u["username"] for u in listed} >= {p.username for p in PEOPLE.values()}


def test_a_case_is_shared_with_another_agency_from_its_page(client: TestClient[Litestar]) -> None:
    """The owning team shares; the other agency's caseworker can then open the case."""
    owner = sign_in(client, "caseworker")
    assert "Share with another agency" in client.get("/cases/SEED-02").text
    assert owner.form("/cases/SEED-02/shares", {"agency": ""}).status_code == 422
    shared = owner.form("/cases/SEED-02/shares", {"agency": "housing"})
    assert shared.status_code == 200
    assert "Shared with" in shared.text
    owner.form("/logout", {})
    sign_in(client, "caseworker_other")  # agency housing, team asb-south
    other = client.get("/cases/SEED-02")
    assert other.status_code == 200
    assert "Share with another agency" not in other.text  # a shared case is not re-shared
