"""Every page, as each of the four roles sees it, checked by axe-core in Debian's Chromium:
no violation at the WCAG 2.2 A/AA tags (the Public Sector Bodies Accessibility
Regulations' standard), so no page regresses unseen.

The site holds the demo year (ASB and domestic abuse cases, alerts, a full report), so the
pages show what they show in use: RAG badges of every colour, alert levels, countdowns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Final

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.axe import assert_accessible
from tests.browser.test_report_page import CHROMIUM_FLAGS
from tests.browser.test_web_flows import CHROMIUM, DESK, STARTUP_TIMEOUT, sign_in
from tests.web import DEMO, NOW, make_site

ASB_CASE: Final = "ASB-0254"  # asb-north, in the demo year
DA_CASE: Final = "DA-0159"  # da-idva
PAGES: Final = {
    "caseworker": [
        "/cases",
        "/cases?mine=0",
        "/cases?mine=0&breached=1&status=all",
        "/cases/new",
        f"/cases/{ASB_CASE}",
        f"/cases/{ASB_CASE}/assess/asb",
        f"/cases/{ASB_CASE}/case-review",
        "/alerts",
        "/alerts?all=1",
    ],
    "caseworker_da": [f"/cases/{DA_CASE}", f"/cases/{DA_CASE}/assess/dash"],
    "manager": [
        "/team",
        "/cases?mine=0",
        "/alerts",
        "/reports",
        "/reports?period=FY2014&by=team",
        "/reports?period=2014-Q3&by=quarter",
        "/case-reviews",
        "/reports/case-reviews",
        "/cases/NO-SUCH-CASE",
    ],
    "psg": ["/reports", "/reports/case-reviews", "/cases", f"/cases/{ASB_CASE}", "/alerts"],
    "admin": ["/admin/users", "/admin/audit", f"/admin/audit?case_id={ASB_CASE}"],
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo year served by uvicorn on SQLite for the whole module."""
    db = tmp_path_factory.mktemp("axe") / "casewatch.db"
    for site in make_site(f"sqlite:///{db}", events=DEMO):
        config = uvicorn.Config(site.app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn-axe", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started serving"
            assert time.monotonic() < deadline, f"uvicorn did not start in {STARTUP_TIMEOUT} s"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"Debian's chromium is not installed at {CHROMIUM}"
    with sync_playwright() as playwright:
        flags = [flag for flag in CHROMIUM_FLAGS if flag != "--headless"]
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=flags, headless=True
        )
        yield launched
        launched.close()


def fresh_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport=DESK, locale="en-GB")
    context.set_default_timeout(15_000)
    context.clock.set_fixed_time(NOW)
    return context.new_page()


@pytest.mark.parametrize("who", sorted(PAGES))
def test_every_page_of_the_role_passes_axe(browser: Browser, base_url: str, who: str) -> None:
    """Each page the role can reach has no WCAG 2.2 A/AA violation that axe-core finds."""
    page = fresh_page(browser, base_url)
    sign_in(page, who)
    for path in PAGES[who]:
        response = page.goto(path)
        assert response is not None and response.status in (200, 404), (path, response)
        assert_accessible(page)
    page.context.close()


def test_signed_out_pages_and_rejected_forms_pass_axe(browser: Browser, base_url: str) -> None:
    """The sign-in page, a refused sign-in and a form shown again with its errors pass too."""
    page = fresh_page(browser, base_url)
    page.goto("/login")
    assert_accessible(page)
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("The username, password or code is not right.")).to_be_visible()
    assert_accessible(page)

    sign_in(page, "caseworker")
    page.goto(f"/cases/{ASB_CASE}")
    record = page.locator("#record-form")
    record.get_by_label("What happened").select_option("sla_paused")
    record.get_by_role("button", name="Record").click()
    expect(page.locator("#form-errors")).to_be_visible()
    assert_accessible(page)
    page.goto("/cases/new")
    page.get_by_role("button", name="Open the case").click()
    assert_accessible(page)
    page.context.close()


def test_axe_finds_a_contrast_failure_when_there_is_one(browser: Browser, base_url: str) -> None:
    """The check can fail: the old white-on-#b26a00 amber badge (4.2:1) is a violation."""
    page = fresh_page(browser, base_url)
    page.goto("/login")
    page.evaluate(
        """() => { const s = document.createElement('span');
        s.textContent = 'Amber'; s.style.cssText = 'color:#fff;background:#b26a00;font-size:13px';
        document.querySelector('main').append(s); }"""
    )
    with pytest.raises(AssertionError, match="color-contrast"):
        assert_accessible(page)
    page.context.close()
