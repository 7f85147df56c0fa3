"""The ASB case review pages in Debian's headless Chromium: the threshold worked out in the
page as the complaints table is filled in, the application saved, the next step recorded,
and the manager's view of reviews in progress."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# The served site and the browser are test_web_flows' fixtures, used here by name.
from tests.browser.test_web_flows import (  # noqa: F401
    Chromium,
    base_url,
    chromium,
    screenshot,
    sign_in,
    site,
)

PAGE = "/cases/SEED-02/case-review"


def fill_complaint(page: Page, n: int, behaviour: str, reported: str, agency: str) -> None:
    page.get_by_label(f"Complaint {n}: behaviour happened").fill(behaviour)
    page.get_by_label(f"Complaint {n}: reported").fill(reported)
    page.get_by_label(f"Complaint {n}: agency").fill(agency)


def test_the_threshold_is_worked_out_as_the_complaints_are_typed(
    chromium: Chromium,  # noqa: F811 - the fixture imported above
) -> None:
    """Hand-derived: applied 20 Mar 2015. Behaviour 31 Jan reported 28 Feb qualifies (a
    month from 31 Jan ends 28 Feb); reported 1 Mar it does not. Two reports naming the
    same incident count once. Three that qualify meet the threshold of three."""
    page = chromium.page()
    sign_in(page, "caseworker")
    page.goto("/cases/SEED-02")
    page.get_by_role("link", name="ASB case review").click()
    expect(page).to_have_url(re.compile(rf"{PAGE}$"))
    form = page.locator("#application-form")
    result = page.locator("#threshold-result")
    form.get_by_label("Received").fill("2015-03-20T10:00")
    fill_complaint(page, 1, "2015-01-31T21:00", "2015-02-28T21:00", "police")
    fill_complaint(page, 2, "2015-02-10T21:00", "2015-02-11T09:00", "council")
    expect(result).to_have_text(
        "2 of 2 complaint(s) qualify; threshold 3: not met by the complaints alone."
    )
    fill_complaint(page, 3, "2015-03-01T21:00", "2015-03-02T09:00", "housing")
    expect(result).to_have_text(
        "3 of 3 complaint(s) qualify; threshold 3: met — the review is a duty."
    )
    page.get_by_label("Complaint 1: reported").fill("2015-03-01T21:00")
    expect(page.locator("tr[data-row='1'] .qualifies")).to_have_text("no")
    expect(result).to_contain_text("2 of 3 complaint(s) qualify")
    page.get_by_label("Complaint 1: reported").fill("2015-02-28T21:00")
    page.get_by_label("Complaint 2: incident").fill("bins set alight")
    page.get_by_label("Complaint 3: incident").fill("bins set alight")
    expect(page.locator("tr[data-row='3'] .qualifies")).to_have_text("same incident: counted once")
    expect(result).to_contain_text("2 of 3 complaint(s) qualify")
    page.get_by_label("Complaint 3: incident").fill("")
    page.get_by_role("button", name="Add a complaint").click()
    expect(page.get_by_label("Complaint 7: agency")).to_be_visible()
    screenshot(page, "web-case-review-application.png")

    page.get_by_role("button", name="Record the application").click()
    expect(page).to_have_url(re.compile(rf"{PAGE}$"))
    expect(page.locator("#form-errors")).to_have_count(0)
    expect(page.locator("table.complaints caption").first).to_contain_text(
        "3 qualifying complaints, threshold met — the review is a duty"
    )
    expect(page.locator("#review-stage")).to_contain_text("awaiting acknowledgement")

    told = page.locator("#form-applicant_informed")
    told.get_by_label("What they were told").select_option("acknowledged")
    told.get_by_label("When").fill("2015-03-23T09:00")
    told.get_by_role("button", name="Record").click()
    expect(page.locator("#review-stage")).to_contain_text("awaiting the threshold decision")
    screenshot(page, "web-case-review-case.png")

    manager = chromium.page()
    sign_in(manager, "manager")
    manager.get_by_role("link", name="Case reviews").click()
    row = manager.locator("#reviews tbody tr").filter(has_text="SEED-02")
    expect(row).to_contain_text("awaiting the threshold decision")
    screenshot(manager, "web-case-reviews-manager.png")
