"""The ASB case review pages through the test client, on SQLite and PostgreSQL: an
application recorded from its complaints table, a refused 'not met' shown in words with
what was typed kept, the manager's view of reviews in progress and the PSG's figures."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from tests.web import Site, api_token, sign_in

PAGE = "/cases/SEED-02/case-review"


def complaint(n: int, behaviour: str, reported: str, agency: str) -> dict[str, str]:
    return {
        f"complaint-{n}-behaviour_at": behaviour,
        f"complaint-{n}-reported_at": reported,
        f"complaint-{n}-agency": agency,
    }


APPLICATION = {
    "type": "case_review_requested",
    "applicant": "victim",
    "at": "2015-03-20T10:00",
    **complaint(1, "2015-02-01T21:00", "2015-02-02T09:00", "police"),
    **complaint(2, "2015-02-10T21:00", "2015-02-11T09:00", "council"),
    **complaint(3, "2015-03-01T21:00", "2015-03-02T09:00", "housing"),
}


def test_an_application_from_the_page_shows_its_threshold(client: TestClient[Litestar]) -> None:
    """Three qualifying complaints: the page says the threshold is met and the review is a
    duty, and the acknowledgement target is running."""
    browser = sign_in(client, "caseworker")
    assert client.get(PAGE).status_code == 200
    response = browser.form(PAGE, APPLICATION)
    assert response.status_code == 200, response.text[:500]
    assert "3 qualifying complaints, threshold met — the review is a duty" in response.text
    assert "awaiting acknowledgement" in response.text


def test_a_not_met_decision_is_refused_in_words_and_nothing_is_recorded(
    client: TestClient[Litestar],
) -> None:
    """The decision is refused naming the qualifying complaints; the reason typed stays."""
    browser = sign_in(client, "caseworker")
    browser.form(PAGE, APPLICATION)
    refused = browser.form(
        PAGE,
        {"type": "threshold_decided", "met": "no", "reason": "not persistent", "at": "2015-03-25T10:00"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "the threshold is met, so the decision must be" in refused.text
    assert "complaint 3 (reported 2015-03-02 to housing)" in refused.text
    assert 'value="not persistent"' in refused.text
    shown = client.get("/cases/SEED-02").text
    assert "<strong>Case review requested</strong>" in shown
    assert "<strong>Threshold decided</strong>" not in shown


def test_the_manager_sees_reviews_in_progress_with_the_next_deadline(
    client: TestClient[Litestar],
) -> None:
    """Applied Fri 20 Mar 2015 10:00: 10 working days are 23-27 Mar, 30 Mar-2 Apr and,
    past Good Friday (3 Apr) and Easter Monday (6 Apr), Tue 7 Apr: due then, 10:00 BST."""
    sign_in(client, "caseworker").form(PAGE, APPLICATION)
    sign_in(client, "manager")
    page = client.get("/case-reviews")
    assert page.status_code == 200
    assert "SEED-02" in page.text
    assert 'datetime="2015-04-07T10:00:00+01:00"' in page.text
    assert "awaiting acknowledgement" in page.text


def test_the_psg_reads_the_published_figures_without_case_references(
    client: TestClient[Litestar],
) -> None:
    """The PSG's page carries the counts and no case reference; a caseworker may not see it."""
    sign_in(client, "caseworker").form(PAGE, APPLICATION)
    sign_in(client, "psg")
    page = client.get("/reports/case-reviews?period=FY2014")
    assert page.status_code == 200
    assert "Applications for an ASB case review received" in page.text
    assert "SEED-02" not in page.text
    csv = client.get("/reports/case-reviews?period=FY2014&format=csv")
    assert "statutory,Applications for an ASB case review received,,1" in csv.text
    sign_in(client, "caseworker")
    assert client.get("/reports/case-reviews").status_code == 403


def test_the_api_refuses_a_complaint_after_the_application_by_its_field(
    site: Site, client: TestClient[Litestar]
) -> None:
    """422 naming complaints[0].reported_at; a good application is then recorded (201)."""
    headers = {"authorization": f"Bearer {api_token(site.runtime, 'caseworker')}"}
    good = {
        "reported_at": "2015-03-02T09:00:00+00:00",
        "behaviour_at": "2015-03-01T21:00:00+00:00",
        "agency": "police",
    }
    late = good | {"reported_at": "2015-03-21T09:00:00+00:00"}
    body = {
        "type": "case_review_requested",
        "at": "2015-03-20T10:00:00+00:00",
        "applicant": "representative",
        "complaints": [late],
    }
    refused = client.post("/api/v1/cases/SEED-02/events", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    fields = [e["field"] for e in refused.json()["errors"]]
    assert fields == ["complaints[0].reported_at"]
    accepted = client.post(
        "/api/v1/cases/SEED-02/events", json=body | {"complaints": [good]}, headers=headers
    )
    assert accepted.status_code == 201, accepted.text
    policies = [c["policy"] for c in accepted.json()["cycles"]]
    assert "asb-review-acknowledgement" in policies
