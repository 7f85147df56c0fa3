"""Sign-in through OpenID Connect on both databases, against the tests' provider running
on loopback: the good path, and each attack or fault refused in words with an audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from attrs import define, evolve
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from casewatch.service.deployment import OidcSettings, SignInSettings
from casewatch.service.runtime import Runtime
from casewatch.service.tables import AuditRow, UserRow
from casewatch.service.web.app import create_app
from tests.oidc_provider import Provider, running_provider
from tests.web import PASSWORD, PEOPLE, Site, make_site


@define
class Setup:
    site: Site
    app: Litestar
    provider: Provider

    def client(self) -> TestClient[Litestar]:
        return TestClient(self.app)

    def refusals(self) -> list[tuple[str, str]]:
        with self.site.runtime.engine.connect() as conn:
            rows = conn.execute(
                select(AuditRow.username, AuditRow.detail)
                .where(AuditRow.action == "user.sign_in_refused")
                .order_by(AuditRow.id)
            )
            return [(row.username, row.detail) for row in rows]


def with_oidc(runtime: Runtime, issuer: str, *, local_passwords: bool = True) -> Runtime:
    settings = OidcSettings(
        issuer=issuer,
        client_id="casewatch",
        match_claim="preferred_username",
        label="Sign in with the partnership account",
        scopes=("openid", "profile"),
    )
    sign_in = SignInSettings(frozenset(), local_passwords=local_passwords, oidc=settings)
    return Runtime(evolve(runtime.config, sign_in=sign_in), runtime.engine, runtime.url)


@pytest.fixture
def setup(db_url: str) -> Iterator[Setup]:
    with running_provider() as provider:
        for site in make_site(db_url, events=None):
            runtime = with_oidc(site.runtime, provider.base)
            app = create_app(runtime, clock=lambda: datetime.fromtimestamp(provider.clock(), UTC))
            yield Setup(Site(runtime, app), app, provider)


def to_provider(client: TestClient[Litestar], next_path: str = "/cases") -> str:
    started = client.get(f"/login/oidc?next={next_path}", follow_redirects=False)
    assert started.status_code == 302, started.text
    return str(started.headers["location"])


def provider_answer(url: str) -> str:
    """What the provider sends the browser back with: the callback's path and query."""
    answer = httpx.get(url, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def sign_in_as(setup: Setup, username: str, client: TestClient[Litestar] | None = None) -> Any:
    client = client or setup.client()
    setup.provider.claims = {"sub": f"idp-{username}", "preferred_username": username}
    return client.get(provider_answer(to_provider(client)), follow_redirects=False)


def test_a_known_person_signs_in_with_pkce_state_and_nonce(setup: Setup) -> None:
    """The request carries S256 PKCE, state and nonce; the session opens at `next`."""
    client = setup.client()
    url = to_provider(client)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == ["casewatch"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    setup.provider.claims = {"sub": "idp-1", "preferred_username": PEOPLE["caseworker"].username}
    done = client.get(provider_answer(url), follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200
    with setup.site.runtime.engine.connect() as conn:
        row = conn.execute(
            select(AuditRow.username, AuditRow.detail).where(AuditRow.action == "user.sign_in")
        ).one()
    assert row.username == PEOPLE["caseworker"].username
    assert '"method": "oidc"' in row.detail


def test_a_forged_state_is_refused(setup: Setup) -> None:
    """An answer whose state this browser did not start is refused before any exchange."""
    client = setup.client()
    back = provider_answer(to_provider(client))
    forged = back.replace("state=", "state=forged")
    response = client.get(forged)
    assert response.status_code == 401
    assert "not started from this browser" in response.text
    assert client.get("/login/oidc/callback?code=x&state=%C3%A9t%C3%A9").status_code == 401
    assert client.get("/login/oidc/callback").status_code == 401
    assert setup.provider.exchanges == []
    assert setup.refusals()[-1] == ("-", '{"method": "oidc", "reason": "state_mismatch"}')


def test_a_replayed_code_is_refused(setup: Setup) -> None:
    """The same answer twice is refused; so is an old code inside a fresh sign-in."""
    client = setup.client()
    setup.provider.claims = {"sub": "idp-1", "preferred_username": PEOPLE["caseworker"].username}
    back = provider_answer(to_provider(client))
    assert client.get(back, follow_redirects=False).status_code == 303
    again = client.get(back)
    assert again.status_code == 401
    assert "already used" in again.text
    old_code = parse_qs(urlsplit(back).query)["code"][0]
    fresh = provider_answer(to_provider(client))
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    replay = client.get(f"/login/oidc/callback?code={old_code}&state={state}")
    assert replay.status_code == 401
    assert "refused the sign-in code" in replay.text
    reasons = [detail for _, detail in setup.refusals()]
    assert reasons[-2:] == [
        '{"method": "oidc", "reason": "state_mismatch"}',  # its cookie went with it
        '{"method": "oidc", "reason": "code_refused"}',
    ]


@pytest.mark.parametrize(
    ("knob", "words", "reason"),
    [
        ({"audience": "another-app"}, "issued for another application", "bad_claim:aud"),
        ({"lifetime": -600}, "has expired", "bad_claim:exp"),
        ({"forge": True}, "signature is not right", "bad_signature"),
    ],
)
def test_a_bad_id_token_is_refused(
    setup: Setup, knob: dict[str, Any], words: str, reason: str
) -> None:
    """Wrong audience, expired, or signed by a key the provider does not publish."""
    for name, value in knob.items():
        setattr(setup.provider, name, value)
    client = setup.client()
    response = sign_in_as(setup, PEOPLE["caseworker"].username, client)
    assert response.status_code == 401
    assert words in response.text
    assert "Traceback" not in response.text
    assert setup.refusals()[-1] == ("-", f'{{"method": "oidc", "reason": "{reason}"}}')
    assert client.get("/cases", follow_redirects=False).status_code in {302, 303}


def test_an_unknown_person_is_refused_and_never_created(setup: Setup) -> None:
    """Someone the provider knows but casewatch does not gets words, an audit row, no user."""
    with setup.site.runtime.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(UserRow)).scalar_one()
    response = sign_in_as(setup, "new.starter")
    assert response.status_code == 401
    assert "has no casewatch account" in response.text
    assert "new.starter" in response.text
    assert setup.refusals()[-1] == ("new.starter", '{"method": "oidc", "reason": "unknown_person"}')
    with setup.site.runtime.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(UserRow)).scalar_one()
    assert after == before


def test_local_passwords_can_be_switched_off(setup: Setup) -> None:
    """Only the button is offered, a password POST is refused and audited; SSO still works."""
    runtime = with_oidc(setup.site.runtime, setup.provider.base, local_passwords=False)
    app = create_app(runtime)
    client = TestClient(app)
    page = client.get("/login")
    assert "Sign in with the partnership account" in page.text
    assert 'name="password"' not in page.text
    refused = client.post(
        "/login", data={"username": PEOPLE["admin"].username, "password": PASSWORD, "next": "/"}
    )
    assert refused.status_code == 403
    assert "switched off" in refused.text
    assert setup.refusals()[-1][1] == '{"reason": "local_passwords_off"}'
    setup.app = app
    assert sign_in_as(setup, PEOPLE["admin"].username, client).status_code == 303


def test_sign_out_ends_the_session_and_links_to_the_provider(setup: Setup) -> None:
    """After signing out the session is gone and the page offers the provider's sign-out."""
    client = setup.client()
    assert sign_in_as(setup, PEOPLE["manager"].username, client).status_code == 303
    page = client.get("/team")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 200
    assert "You are signed out of casewatch." in out.text
    assert f"{setup.provider.base}/logout?client_id=casewatch" in out.text
    assert client.get("/team", follow_redirects=False).status_code in {302, 303}
