"""Two-factor enrolment and sign-in as a manager does it, in Debian's Chromium, under the
shipped setting, with the server's real clock and codes computed from the key shown."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pyotp
import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from casewatch.service.deployment import DEFAULT_SIGN_IN
from casewatch.service.web.app import create_app
from tests.browser.test_report_page import CHROMIUM_FLAGS
from tests.web import PASSWORD, PEOPLE, free_port, make_site

ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "test-artifacts"
CHROMIUM: Final = Path("/usr/bin/chromium")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    for site in make_site(
        f"sqlite:///{tmp_path / 'casewatch.db'}",
        events=None,
        two_factor_roles=DEFAULT_SIGN_IN.two_factor_roles,
    ):
        app = create_app(site.runtime)  # the real clock, as the phone's
        config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
        server.should_exit = True
        thread.join(timeout=20)


def test_a_manager_enrols_from_the_qr_page_and_signs_in_with_a_code(base_url: str) -> None:
    """Password, QR page, code, recovery codes; then sign out and in again with a code."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/setup.sh --with-browser"
    manager = PEOPLE["manager"].username
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        flags = [f for f in CHROMIUM_FLAGS if f != "--headless"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        try:
            page = browser.new_context(base_url=base_url, locale="en-GB").new_page()
            page.goto("/login")
            page.get_by_label("Username").fill(manager)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/account/two-factor$"))
            qr = page.locator("figure.qr svg")
            assert qr.is_visible()
            box = qr.bounding_box()
            assert box is not None and box["width"] >= 100, "a QR code a phone can read"
            page.screenshot(path=str(ARTIFACTS / "two-factor-enrol.png"), full_page=True)
            key = page.locator("code.secret").inner_text().replace(" ", "")
            totp = pyotp.TOTP(key)
            page.get_by_label("Code from your app").fill(totp.now())
            page.get_by_role("button", name="Turn on two-factor sign-in").click()
            codes = page.locator("ul.recovery-codes li")
            assert codes.count() == 10
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(re.compile(r"/login\?signed_out$"))
            page.get_by_label("Username").fill(manager)
            page.get_by_label("Password").fill(PASSWORD)
            # Enrolment used this step's code; the next step's is within the drift allowed.
            page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/team$"))
        finally:
            browser.close()
