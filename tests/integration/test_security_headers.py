"""Security response headers on every route (OWASP ASVS 4.0.3 V14.4), and the sign-in
form's own CSRF token (login CSRF)."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from casewatch.service.web.security import LOGIN_COOKIE
from tests.web import PASSWORD, PEOPLE, Site, csrf_of, login_token, sign_in

# A value for each path parameter the routes use; anything else gets a plain word.
SAMPLES = {"case_id": "SEED-02", "matrix": "dash", "alert_id": "1", "fmt": "csv"}
SAMPLES_BY_TYPE = {"int": "1", "path": "/casewatch.css"}
BASELINE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def concrete(path: str) -> str:
    """A route path with its parameters filled in."""

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        return SAMPLES.get(name) or SAMPLES_BY_TYPE.get(kind) or "word"

    return re.sub(r"\{(\w+):(\w+)\}", value, path).replace("//", "/")


def every_request(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) for every route of the application, whoever adds it."""
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                found.add((method, concrete(route.path)))
    return sorted(found)


def assert_hardened(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, expected in BASELINE.items():
        assert headers.get(name) == expected, (path, name, headers.get(name))
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (path, policy)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path
    if not path.startswith("/static/"):
        assert headers.get("cache-control") == "no-store", (path, headers.get("cache-control"))


@pytest.mark.parametrize("who", [None, "manager", "caseworker"])
def test_every_route_answers_with_the_security_headers(
    site: Site, client: TestClient[Litestar], who: str | None
) -> None:
    """Whatever the route, method, caller or status (200, redirect, 403, 404, 422), the
    answer cannot be framed, sniffed, cached or leak its address, and runs no inline
    script."""
    requests = every_request(site.app)
    assert ("GET", "/cases/SEED-02") in requests
    assert ("POST", "/api/v1/cases/SEED-02/events") in requests
    csrf = sign_in(client, who).csrf if who else ""
    statuses = set()
    for method, path in [*requests, ("GET", "/no/such/page"), ("GET", "/api/v1/no-such")]:
        api, post = path.startswith("/api/"), method == "POST"
        response = client.request(
            method,
            path,
            headers={"x-csrf-token": csrf},
            data={"csrf_token": csrf} if post and not api else None,
            json={} if post and api else None,
            follow_redirects=False,
        )
        statuses.add(response.status_code // 100)
        assert_hardened(response, path)
    assert {2, 3, 4} <= statuses


def test_pages_run_only_casewatch_scripts(client: TestClient[Litestar]) -> None:
    """No page holds an inline script (the policy would block it); the script is a file."""
    sign_in(client, "caseworker")
    for path in ["/login", "/cases", "/cases/SEED-02", "/cases/SEED-02/assess/dash"]:
        html = client.get(path).text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
        assert scripts, path
        assert all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
        assert " style=" not in html and "<style" not in html, path


def test_hsts_is_sent_over_https_only(site: Site) -> None:
    """Strict-Transport-Security means something only on an https answer."""
    with TestClient(site.app, base_url="https://casewatch.example") as secure:
        assert secure.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(site.app) as plain:
        assert "strict-transport-security" not in plain.get("/healthz").headers


def test_sign_in_without_the_forms_token_is_refused(client: TestClient[Litestar]) -> None:
    """A cross-site post of the sign-in form (no token, or one that does not match this
    browser's cookie) signs nobody in and says why; the genuine form then works."""
    person = PEOPLE["caseworker"]
    credentials = {"username": person.username, "password": PASSWORD}
    missing = client.post("/login", data=credentials, follow_redirects=False)
    assert missing.status_code == 403
    assert "sign-in form had expired or did not come from casewatch" in missing.text
    assert "casewatch_session" not in missing.headers.get("set-cookie", "")
    mine = login_token(client)
    forged = client.post("/login", data={**credentials, "csrf_token": mine[::-1]})
    assert forged.status_code == 403
    genuine = client.post(
        "/login", data={**credentials, "csrf_token": csrf_of(forged.text)}, follow_redirects=False
    )
    assert genuine.status_code == 303
    assert client.get("/api/v1/me").json()["username"] == person.username


def test_the_sign_in_forms_cookie_is_strict_and_scoped(client: TestClient[Litestar]) -> None:
    """The login token's cookie is HttpOnly, SameSite=Strict and sent only to /login."""
    header = client.get("/login").headers["set-cookie"].lower()
    assert header.startswith(f"{LOGIN_COOKIE}=")
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "path=/login" in header
