"""The web service as people use it: Debian's Chromium, driven by Playwright, against the
app served for real by uvicorn on a seeded SQLite database.

Each test signs in as one role and walks a flow end to end; full-page screenshots are kept
in test-artifacts/. Chromium comes from Debian's `chromium` package (never a Playwright
download); a missing browser fails these tests, it never skips them.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import openpyxl
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.browser.test_report_page import CHROMIUM_FLAGS
from tests.web import NOW, PASSWORD, PEOPLE, SEED, Site, free_port, make_site

ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "test-artifacts"
CHROMIUM: Final = Path("/usr/bin/chromium")
DESK: Final = ViewportSize(width=1280, height=900)
TABLET: Final = ViewportSize(width=768, height=1024)
STARTUP_TIMEOUT: Final = 20.0  # seconds for uvicorn to bind its port
CONFERENCE: Final = "High-risk ASB victims: case conference or partner actions within 5 days"
REDUCTION: Final = "High-risk ASB victims: risk reduced below high within 7 days"
CASE_PAGE: Final = re.compile(r"/cases/(?!new$)[^/#?]+$")


# -- the app, served for real ---------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The seeded site (people of every role, the seed year, a tick at NOW) on SQLite."""
    yield from make_site(f"sqlite:///{tmp_path / 'casewatch.db'}")


@pytest.fixture
def base_url(site: Site) -> Iterator[str]:
    """The site served by uvicorn in a background thread: its http://127.0.0.1:port."""
    config = uvicorn.Config(site.app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:  # uvicorn offers no event to wait on
        assert thread.is_alive(), "uvicorn stopped before it started serving"
        assert time.monotonic() < deadline, f"uvicorn did not start in {STARTUP_TIMEOUT} s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{config.port}"
    server.should_exit = True
    thread.join(timeout=STARTUP_TIMEOUT)
    assert not thread.is_alive(), "uvicorn did not stop"


class Chromium:
    """Debian's Chromium, launched on first use so that a missing browser fails the test
    that needs it (with the reason) instead of erroring in a fixture."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def page(self) -> Page:
        """A fresh browser context (no cookies) at desk size, with its one page."""
        if self._browser is None:
            assert CHROMIUM.exists(), (
                f"Debian's chromium is not installed at {CHROMIUM}: "
                "run scripts/setup.sh --with-browser (never `playwright install`)"
            )
            self._playwright = sync_playwright().start()
            flags = [flag for flag in CHROMIUM_FLAGS if flag != "--headless"]
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=flags, headless=True
            )
        context = self._browser.new_context(
            base_url=self.base_url, viewport=DESK, accept_downloads=True, locale="en-GB"
        )
        context.set_default_timeout(15_000)
        context.clock.set_fixed_time(NOW)  # the app's clock: countdowns count from it too
        return context.new_page()

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture
def chromium(base_url: str) -> Iterator[Chromium]:
    browser = Chromium(base_url)
    yield browser
    browser.close()


# -- helpers --------------------------------------------------------------------------


def sign_in(page: Page, who: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(PEOPLE[who].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 0
    return shot


def seed_victim_names() -> set[str]:
    names: set[str] = set()
    with SEED.open(encoding="utf-8") as lines:
        for line in lines:
            victim = json.loads(line).get("victim") if line.strip() else None
            if isinstance(victim, dict):
                names.update(v for v in victim.values() if isinstance(v, str) and v)
    return names


def cycle_row(page: Page, title: str) -> list[str]:
    """The cells (target, cycle, state, started, due, outcome, RAG, reason) of the one
    SLA cycle row whose target is `title`."""
    row = page.locator("table.cycles tbody tr").filter(
        has=page.get_by_role("rowheader", name=title)
    )
    expect(row).to_have_count(1)
    return [cell.strip() for cell in row.locator("th, td").all_inner_texts()]


# -- the flows ------------------------------------------------------------------------


def test_caseworker_opens_assesses_and_records_a_conference(chromium: Chromium) -> None:
    """A caseworker opens an ASB case, scores it high on the ASB matrix live, sees the SLA
    targets start, and meets the conference target by recording a case conference."""
    page = chromium.page()
    sign_in(page, "caseworker")
    expect(page).to_have_url(re.compile(r"/cases$"))
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()

    page.get_by_role("link", name="Open a case").click()
    expect(page).to_have_url(re.compile(r"/cases/new$"))
    page.get_by_label("Case type").select_option("asb")
    page.get_by_label("Team").select_option("asb-north")
    expect(page.get_by_label("Caseworker (username)")).to_have_value(PEOPLE["caseworker"].username)
    page.get_by_label("Name", exact=True).fill("Browser Test Victim")
    page.get_by_label("Address", exact=True).fill("1 Test Street, Northtown")
    page.get_by_label("Phone", exact=True).fill("01632 960000")
    page.get_by_role("button", name="Open the case").click()

    expect(page).to_have_url(CASE_PAGE)
    case_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", level=1)).to_contain_text(case_id)
    expect(page.locator(".personal")).to_contain_text("Browser Test Victim")
    expect(page.locator("#risk-level")).to_have_text("Not assessed")

    # An ASB case is assessed on the ASB matrix: its page does not offer the DASH checklist.
    expect(page.get_by_role("link", name="DASH checklist")).to_have_count(0)
    page.get_by_role("link", name="ASB risk matrix").click()
    expect(page).to_have_url(re.compile(rf"/cases/{re.escape(case_id)}/assess/asb$"))
    score, level = page.locator("#asb-score"), page.locator("#asb-level")
    expect(score).to_have_text("0")
    # The matrix's first eight questions weigh 3, 3, 2, 2, 2, 3, 3, 2: medium (10) at the
    # fourth, high (20) at the eighth.
    boxes = page.locator("#asb-form .questions input[type=checkbox]")
    for n in range(8):
        boxes.nth(n).check()
        if n + 1 == 4:
            expect(score).to_have_text("10")
            expect(level).to_have_text("medium")
    expect(score).to_have_text("20")
    expect(level).to_have_text("high")  # worked out in the page, before anything is saved
    screenshot(page, "web-caseworker-asb.png")
    page.get_by_role("button", name="Save the assessment").click()

    expect(page).to_have_url(re.compile(rf"/cases/{re.escape(case_id)}$"))
    expect(page.locator("#risk-level")).to_contain_text("High · score 20 (ASB)")
    conference = cycle_row(page, CONFERENCE)
    assert conference[2] == "running" and conference[5] == "open", conference
    reduction = cycle_row(page, REDUCTION)
    assert reduction[2] == "running" and reduction[5] == "open", reduction
    assert reduction[4].endswith("(due in 7 d 0 h)"), reduction  # casewatch.js's countdown

    # A rejected form comes back with the validator's words and what was typed.
    record = page.locator("#record-form")
    record.get_by_label("What happened").select_option("sla_paused")
    record.get_by_label("When").fill("2015-04-01T12:30")
    record.get_by_label("Target").select_option("asb-high-risk-reduction")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        record.get_by_role("button", name="Record").click()
    assert posted.value.status == 422
    expect(page.locator("#form-errors")).to_contain_text("This was not saved")
    expect(page.locator("#form-errors")).to_contain_text("reason")
    expect(record.get_by_label("What happened")).to_have_value("sla_paused")
    expect(record.get_by_label("When")).to_have_value("2015-04-01T12:30")
    expect(record.get_by_label("Target")).to_have_value("asb-high-risk-reduction")
    assert cycle_row(page, REDUCTION)[2] == "running"  # nothing was paused

    record.get_by_label("What happened").select_option("case_conference_held")
    record.get_by_label("When").fill("")
    record.get_by_label("Agencies present (comma separated)").fill("police, housing")
    record.get_by_role("button", name="Record").click()
    expect(page).to_have_url(re.compile(rf"/cases/{re.escape(case_id)}#timeline$"))
    expect(page.locator("#form-errors")).to_have_count(0)
    conference = cycle_row(page, CONFERENCE)
    assert conference[2] == "stopped" and conference[5] == "met", conference
    assert cycle_row(page, REDUCTION)[5] == "open"
    expect(page.locator("#timeline li").first).to_contain_text(
        "Case conference held Agencies: police, housing"
    )
    screenshot(page, "web-caseworker-case.png")

    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page.get_by_role("link", name=case_id)).to_be_visible()
    listed = page.locator("table.cases tbody tr").filter(has=page.get_by_role("link", name=case_id))
    expect(listed.locator("time.countdown")).to_contain_text("(due in 7 d 0 h)")  # running
    page.set_viewport_size(TABLET)
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Risk")).to_be_visible()
    expect(page.get_by_role("cell", name="high", exact=True)).to_be_visible()
    screenshot(page, "web-caseworker-my-cases-tablet.png")


def test_manager_acknowledges_a_breach_alert(chromium: Chromium) -> None:
    """A manager acknowledges a breach alert, which then leaves the default list and is shown
    as acknowledged among all alerts."""
    page = chromium.page()
    sign_in(page, "manager")
    page.get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(re.compile(r"/alerts$"))
    breaches = page.locator("table.alerts tbody tr.level-breach")
    expect(breaches.first).to_be_visible()
    screenshot(page, "web-manager-alerts.png")

    alert = breaches.first
    case_id = alert.get_by_role("link").inner_text()
    button = alert.get_by_role("button", name="Acknowledge")
    label = button.get_attribute("aria-label")
    assert label == f"Acknowledge breach on {case_id}", label
    alert_action = alert.locator("form").get_attribute("action")
    assert alert_action is not None and alert_action.endswith("/acknowledge")
    waiting = page.get_by_role("button", name=label, exact=True).count()
    button.click()

    expect(page).to_have_url(re.compile(r"/alerts$"))
    expect(page.get_by_role("button", name=label, exact=True)).to_have_count(waiting - 1)
    expect(page.locator(f'form[action="{alert_action}"]')).to_have_count(0)

    page.get_by_role("link", name="Show acknowledged alerts too").click()
    expect(page).to_have_url(re.compile(r"/alerts\?all=1$"))
    acknowledged = page.locator("table.alerts tbody tr").filter(
        has_text=f"by {PEOPLE['manager'].username}"
    )
    expect(acknowledged).to_have_count(1)
    expect(acknowledged.get_by_role("link", name=case_id)).to_be_visible()
    expect(acknowledged.locator(".level")).to_have_text("Breach")  # in the shared words
    expect(acknowledged.get_by_role("button")).to_have_count(0)


def test_psg_reads_the_report_and_downloads_it_without_personal_data(
    chromium: Chromium, tmp_path: Path
) -> None:
    """A PSG member sees the SLA table and chart, downloads the CSV and XLSX, and no page they
    see names a victim."""
    page = chromium.page()
    sign_in(page, "psg")
    expect(page).to_have_url(re.compile(r"/reports$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("SLA report")
    rows = page.locator("table.slas tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("table.slas")).not_to_contain_text("None")
    chart = page.locator(".chart img")
    expect(chart).to_be_visible()
    chart.evaluate("img => img.decode()")  # waits until the PNG has loaded (or rejects)
    width = chart.evaluate("img => img.naturalWidth")
    assert isinstance(width, int) and width > 0, "the chart image did not load"
    screenshot(page, "web-psg-report.png")

    downloads = page.locator(".downloads")
    with page.expect_download() as got_csv:
        downloads.get_by_role("link", name="CSV", exact=True).click()
    csv_file = tmp_path / got_csv.value.suggested_filename
    got_csv.value.save_as(csv_file)
    assert csv_file.suffix == ".csv" and csv_file.stat().st_size > 0
    with csv_file.open(encoding="utf-8", newline="") as text:
        table = list(csv.reader(text))
    assert len(table) >= 2, table
    header = table[0]
    assert header and all(cell.strip() for cell in header), header
    assert not any(cell.replace(".", "", 1).isdigit() for cell in header), header
    downloaded = {csv_file.name: csv_file.read_text(encoding="utf-8")}

    with page.expect_download() as got_xlsx:
        downloads.get_by_role("link", name="XLSX", exact=True).click()
    xlsx_file = tmp_path / got_xlsx.value.suggested_filename
    got_xlsx.value.save_as(xlsx_file)
    assert xlsx_file.suffix == ".xlsx" and xlsx_file.stat().st_size > 0
    workbook = openpyxl.load_workbook(xlsx_file, read_only=True)
    downloaded[xlsx_file.name] = "\n".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )
    workbook.close()
    assert downloaded[xlsx_file.name].strip(), "the workbook is empty"

    victims = seed_victim_names()
    assert victims, "the seed file names no victim: the privacy check would prove nothing"
    seen = {"/reports": page.content(), **downloaded}
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cases$"))
    case_links = page.locator("table.cases tbody th a")
    expect(case_links.first).to_be_visible()
    expect(page.get_by_role("columnheader", name="Victim")).to_have_count(0)
    seen["/cases"] = page.content()
    case_links.first.click()
    expect(page).to_have_url(CASE_PAGE)
    expect(page.locator("table.cycles")).to_be_visible()
    seen[page.url] = page.content()
    for where, html in seen.items():
        named = sorted(name for name in victims if name in html)
        assert not named, f"{where} shows victim names to a PSG member: {named}"
    assert len(seen) == 5, sorted(seen)


def test_sign_in_errors_and_forms_without_a_csrf_token_are_refused(chromium: Chromium) -> None:
    """A wrong password is refused with the username kept, and a signed-in POST without the
    CSRF token is refused with 403."""
    page = chromium.page()
    page.goto("/cases")
    expect(page).to_have_url(re.compile(r"/login\?next=/cases$"))
    username = PEOPLE["caseworker"].username
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("The username, password or code is not right.")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "web-login-error.png")

    sign_in(page, "caseworker")
    fields: dict[str, str | float | bool] = {
        "case_type": "asb",
        "team": "asb-north",
        "victim_name": "Forged Request Victim",
    }
    refused = page.request.post("/cases/new", form=fields, max_redirects=0)
    assert refused.status == 403, refused.status
    assert "did not come from casewatch" in refused.text()
    wrong = page.request.post("/cases/new", form={**fields, "csrf_token": "forged"})
    assert wrong.status == 403, wrong.status

    page.goto("/cases?mine=0")
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    expect(page.get_by_text("Forged Request Victim")).to_have_count(0)


def test_psg_asks_what_if_a_target_were_longer_and_downloads_it(
    chromium: Chromium, tmp_path: Path
) -> None:
    """From the report page a PSG member types 30 working days for the conference target,
    sees current and proposed side by side with the flipped cases, and downloads the CSV."""
    page = chromium.page()
    sign_in(page, "psg")
    page.goto("/reports?period=FY2014")
    panel = page.locator("section.whatif-panel")
    expect(panel.get_by_role("heading", name="What if")).to_be_visible()
    panel.locator("select[name=policy]").select_option("asb-high-risk-conference")
    panel.locator("input[name=days]").fill("30")
    panel.locator("select[name=kind]").select_option("working")
    panel.get_by_role("button", name="Show what if").click()
    expect(page).to_have_url(re.compile(r"/reports/whatif\?"))
    expect(page.locator(".changes")).to_contain_text(
        "asb-high-risk-conference: target 5 calendar days -> 30 working days"
    )
    row = page.locator("table.whatif-table tbody tr[data-policy='asb-high-risk-conference']")
    expect(row).to_contain_text("81.0")
    expect(row).to_contain_text("100.0")
    expect(row.locator("ul.flipped li")).to_have_count(4)
    expect(row).to_contain_text("breached → met")
    screenshot(page, "web-psg-whatif.png")
    with page.expect_download() as got_csv:
        page.locator(".downloads").get_by_role("link", name="CSV", exact=True).click()
    csv_file = tmp_path / got_csv.value.suggested_filename
    got_csv.value.save_as(csv_file)
    with csv_file.open(encoding="utf-8", newline="") as text:
        table = list(csv.DictReader(text))
    conference = next(r for r in table if r["policy"] == "asb-high-risk-conference")
    assert (conference["current_pct"], conference["proposed_pct"]) == ("81.0", "100.0")
    assert conference["flipped"].count("breached->met") == 4
