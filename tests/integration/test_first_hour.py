"""What a new user meets first on the pages: the report page's landing period and why,
breached targets with due time, lateness and reason, timelines in a caseworker's words,
the ASB case page without the DASH checklist, downloads with one charset, and the report
page's own chart not audited as a download."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from casewatch.service.tables import AuditRow
from tests.cli import casewatch
from tests.web import SEED, Site, sign_in


def _audit_actions(site: Site) -> list[tuple[str, str | None]]:
    with site.runtime.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.action, AuditRow.detail).order_by(AuditRow.id))
        return [(row.action, row.detail) for row in rows]


def test_the_report_page_opens_on_the_latest_quarter_with_decided_targets(
    client: TestClient[Litestar],
) -> None:
    """At 2015-04-01 (2015-Q1 has no targets) the seed's latest decided target started on
    2015-02-21, in 2014-Q4 (January to March 2015): the page shows it and says why."""
    sign_in(client, "psg")
    page = client.get("/reports").text
    assert "SLA report <small>2014-Q4 (2015-01-01 to 2015-03-31)" in page
    assert (
        "Showing 2014-Q4, the latest quarter with decided targets: none of those started "
        "this quarter (2015-Q1) has been decided yet." in page
    )
    chosen = client.get("/reports?period=FY2014").text
    assert "SLA report <small>FY2014" in chosen
    assert 'id="period-why"' not in chosen  # a period asked for needs no reason


def test_the_chart_caption_names_the_year_to_date_and_financial_quarters(
    client: TestClient[Litestar],
) -> None:
    """A 2014-Q3 page's chart plots 2014-04-01 to 2014-12-31 and says Q1 is April to June."""
    sign_in(client, "manager")
    page = client.get("/reports?period=2014-Q3").text
    assert (
        "Per cent met by quarter, 2014-04-01 to 2014-12-31: the financial year to date "
        "(financial-year quarters, Q1 = April to June)" in page
    )


def test_viewing_the_report_page_audits_a_view_not_a_chart_download(
    site: Site, client: TestClient[Litestar]
) -> None:
    """The inline chart is part of the page view; a download button is audited as one."""
    sign_in(client, "psg")
    before = len(_audit_actions(site))
    client.get("/reports?period=FY2014")
    assert client.get("/reports/download/png?period=FY2014&inline=1").status_code == 200
    after_view = [action for action, _ in _audit_actions(site)[before:]]
    assert after_view == ["report.view"]
    client.get("/reports/download/png?period=FY2014")
    assert [action for action, _ in _audit_actions(site)[before:]][-1] == "report.download"


def test_downloads_name_their_charset_once(client: TestClient[Litestar]) -> None:
    """CSV and HTML say `charset=utf-8` exactly once; binary formats name none."""
    sign_in(client, "psg")
    for fmt, expected in {
        "csv": "text/csv; charset=utf-8",
        "html": "text/html; charset=utf-8",
        "png": "image/png",
    }.items():
        response = client.get(f"/reports/download/{fmt}?period=FY2014")
        assert response.headers["content-type"] == expected, fmt


def test_breached_targets_in_the_case_list_say_due_how_late_and_why(
    client: TestClient[Litestar],
) -> None:
    """SEED-19's reduction target was due 2015-01-27 12:00 (high at 2015-01-20 12:00 plus
    7 days) and met only on 2015-01-30 12:00: 3 days late, "victim not engaging"."""
    sign_in(client, "caseworker_other")  # asb-south
    page = client.get("/cases?mine=0&breached=1").text
    row = page[page.index('href="/cases/SEED-19"') :]
    row = row[: row.index("</tr>")]
    assert "due 2015-01-27 12:00, 3 days late — victim not engaging" in row
    assert '<strong class="overdue">Breached</strong>' in row


def test_the_timeline_reads_in_a_caseworkers_words(client: TestClient[Litestar]) -> None:
    """Event names and fields in words, acronyms in capitals, no Python values."""
    sign_in(client, "caseworker")
    page = client.get("/cases/SEED-02").text
    timeline = page[page.index('id="timeline"') :]
    assert "<strong>Case conference held</strong>" in timeline
    assert "Agencies: police, housing" in timeline
    assert "Matrix: ASB" in timeline
    assert "Case type: ASB" in timeline
    assert "case_type" not in timeline and "False" not in timeline


def test_an_asb_case_page_does_not_offer_the_dash_checklist(client: TestClient[Litestar]) -> None:
    """SEED-02 is an ASB case: its page offers the ASB matrix only."""
    sign_in(client, "caseworker")
    page = client.get("/cases/SEED-02").text
    assert "ASB risk matrix" in page
    assert "DASH checklist" not in page
    assert "Anti-social behaviour" in page


def test_a_line_cut_short_is_reported_at_its_own_last_column(db_url: str) -> None:
    """`{"event_id": "e1", "case_id": "C1"` is 34 characters: the missing brace is wanted
    at column 35, the end of the line, not at column 1 of the line after its newline."""
    line = b'{"event_id": "e1", "case_id": "C1"\r\n'
    outcome = casewatch("import", "-", db=db_url, stdin=line)
    assert outcome.exit_code == 1
    (error,) = outcome.json()["errors"]
    assert error["error"] == (
        "the line is not valid JSON: Expecting ',' delimiter at column 35 (the end of the line)"
    )


def test_piped_cli_tables_are_not_cut_to_80_columns(db_url: str) -> None:
    """Through a pipe every column is whole (no "asb-nor…"), though the rows pass 80."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    listed = casewatch("case", "list", db=db_url)
    assert listed.exit_code == 0
    assert "…" not in listed.stdout
    assert "asb-north" in listed.stdout and "SEED-02" in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) > 80


def test_the_cli_case_table_uses_the_same_words_as_the_pages(db_url: str) -> None:
    """The timeline of `case show` reads "Case conference held" and "Agencies: …"."""
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0
    shown = casewatch("case", "show", "SEED-02", "--as-of", "2015-04-01", db=db_url)
    assert shown.exit_code == 0
    assert "Case conference held" in shown.stdout
    assert "Agencies: police, housing" in shown.stdout
    assert "Anti-social behaviour" in shown.stdout
    assert "case_conference_held" not in shown.stdout


def test_the_team_dashboard_shows_breaches_with_due_lateness_and_reason(
    client: TestClient[Litestar],
) -> None:
    """asb-south's manager sees SEED-19 among targets at risk: due 2015-01-27 12:00, met
    on 2015-01-30 12:00, so 3 days late, "victim not engaging"; counts come per team."""
    sign_in(client, "manager_other")  # asb-south
    page = client.get("/team").text
    at_risk = page[page.index("<h2>Targets at risk</h2>") :]
    row = at_risk[at_risk.index('href="/cases/SEED-19"') :]
    row = row[: row.index("</tr>")]
    assert "due 2015-01-27 12:00, 3 days late — victim not engaging" in row
    assert '<a href="/cases?team=asb-south&amp;mine=0">asb-south</a>' in page
