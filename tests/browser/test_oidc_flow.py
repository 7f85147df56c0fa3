"""Single sign-on in Debian's Chromium: casewatch served by uvicorn, the tests' OpenID
Connect provider on loopback, the browser following every redirect itself. A good sign-in,
then a forged state, a replayed code, a token for another audience, an expired token and
an unknown person: each refused on the page in words, each with an audit row."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from attrs import define
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from casewatch.service.tables import AuditRow
from casewatch.service.web.app import create_app
from tests.browser.test_report_page import CHROMIUM_FLAGS
from tests.integration.test_oidc import with_oidc
from tests.oidc_provider import Provider, running_provider
from tests.web import PEOPLE, Site, free_port, make_site

ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "test-artifacts"
CHROMIUM: Final = Path("/usr/bin/chromium")
BUTTON: Final = "Sign in with the partnership account"


@define
class Served:
    base: str
    site: Site
    provider: Provider

    def reasons(self) -> list[str]:
        with self.site.runtime.engine.connect() as conn:
            return list(
                conn.execute(
                    select(AuditRow.detail)
                    .where(AuditRow.action == "user.sign_in_refused")
                    .order_by(AuditRow.id)
                ).scalars()
            )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with running_provider() as provider:
        for site in make_site(f"sqlite:///{tmp_path / 'casewatch.db'}", events=None):
            runtime = with_oidc(site.runtime, provider.base)
            app = create_app(runtime)  # the real clock, as the provider's
            config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            deadline = time.monotonic() + 20
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.02)
            yield Served(f"http://127.0.0.1:{config.port}", Site(runtime, app), provider)
            server.should_exit = True
            thread.join(timeout=20)


@pytest.fixture
def page(served: Served) -> Iterator[Page]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/setup.sh --with-browser"
    with sync_playwright() as playwright:
        flags = [f for f in CHROMIUM_FLAGS if f != "--headless"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        context = browser.new_context(base_url=served.base, locale="en-GB")
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def as_person(served: Served, username: str) -> None:
    served.provider.claims = {"sub": f"idp-{username}", "preferred_username": username}


def callback_of_next_sign_in(served: Served, page: Page) -> str:
    """Click the button and stop at the provider's consent page: the answer it would send
    the browser back with (path and query), as an attacker holding it would have it."""
    served.provider.consent = True
    try:
        page.goto("/login")
        page.get_by_role("link", name=BUTTON).click()
        href = page.locator("#continue").get_attribute("href")
    finally:
        served.provider.consent = False
    assert href is not None
    url = urlsplit(href)
    return f"{url.path}?{url.query}"


def refused_with(page: Page, words: str) -> None:
    alert = page.get_by_role("alert")
    assert words in alert.inner_text()
    assert "Traceback" not in page.content()


def test_good_sign_in_then_every_refusal(served: Served, page: Page) -> None:
    """One browser walks the good path and each attack, as the issue lists them."""
    ARTIFACTS.mkdir(exist_ok=True)
    # A good sign-in, from the button on the sign-in page.
    as_person(served, PEOPLE["caseworker"].username)
    page.goto("/login")
    page.screenshot(path=str(ARTIFACTS / "sign-in-with-provider.png"), full_page=True)
    page.get_by_role("link", name=BUTTON).click()
    page.wait_for_url(re.compile(r"/cases$"))
    assert "Cases" in page.content()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login\?signed_out$"))
    assert page.get_by_role("link", name="Sign out of your organisation's account too")

    # A forged state: the provider's genuine answer, with the state changed.
    back = callback_of_next_sign_in(served, page)
    page.goto(re.sub(r"state=[^&]+", "state=forged-by-attacker", back))
    refused_with(page, "not started from this browser")
    assert served.reasons()[-1] == '{"method": "oidc", "reason": "state_mismatch"}'

    # A replayed code: a code already exchanged, inside a fresh sign-in's state.
    as_person(served, PEOPLE["caseworker"].username)
    first = callback_of_next_sign_in(served, page)
    page.goto(first)
    page.wait_for_url(re.compile(r"/cases$"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login\?signed_out$"))
    fresh = callback_of_next_sign_in(served, page)
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    page.goto(re.sub(r"code=[^&]+", f"code={old_code}", fresh))
    refused_with(page, "refused the sign-in code")
    assert served.reasons()[-1] == '{"method": "oidc", "reason": "code_refused"}'

    # A token for another audience, and an expired token.
    for knob, value, words, reason in (
        ("audience", "another-app", "issued for another application", "bad_claim:aud"),
        ("lifetime", -600, "has expired", "bad_claim:exp"),
    ):
        served.provider.audience, served.provider.lifetime = None, 300
        setattr(served.provider, knob, value)
        page.goto("/login")
        page.get_by_role("link", name=BUTTON).click()
        page.wait_for_url(re.compile(r"/login/oidc/callback"))
        refused_with(page, words)
        assert served.reasons()[-1] == f'{{"method": "oidc", "reason": "{reason}"}}'
    served.provider.audience, served.provider.lifetime = None, 300

    # Someone the provider knows and casewatch does not.
    as_person(served, "new.starter")
    page.goto("/login")
    page.get_by_role("link", name=BUTTON).click()
    page.wait_for_url(re.compile(r"/login/oidc/callback"))
    refused_with(page, "has no casewatch account")
    page.screenshot(path=str(ARTIFACTS / "sign-in-unknown-person.png"), full_page=True)
    assert served.reasons()[-1] == '{"method": "oidc", "reason": "unknown_person"}'
