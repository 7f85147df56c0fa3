"""The report page's What if panel through the test client: the form, the comparison, the
downloads, the refusals, and only an audit row written."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from casewatch.service.tables import AuditRow
from tests.cli import casewatch
from tests.databases import fingerprint
from tests.web import NOW, Site, sign_in

SHIPPED = Path(__file__).resolve().parents[2] / "casewatch" / "config" / "policies.yaml"
THIRTY_WORKING = (
    "period=FY2014&policy=asb-high-risk-conference&days=30&kind=working&target_pct=85&amber_band=10"
)


def test_the_report_page_offers_the_what_if_form(client: TestClient[Litestar]) -> None:
    """The PSG's report page has the What if panel, filled with a policy's own values."""
    sign_in(client, "psg")
    page = client.get("/reports?period=FY2014").text
    assert 'id="whatif-panel"' in page
    assert 'action="/reports/whatif"' in page
    assert 'name="days" type="number" min="1" step="1" value="5"' in page


def test_a_target_typed_in_the_form_flips_the_seed_breaches(
    client: TestClient[Litestar], site: Site, tmp_path: Path
) -> None:
    """30 working days for the conference makes every seed breach met: the page shows
    81.0 -> 100.0 and the flipped cases, and the JSON download is exactly what
    `casewatch whatif` prints for the same proposal as a file."""
    sign_in(client, "psg")
    page = client.get(f"/reports/whatif?{THIRTY_WORKING}")
    assert page.status_code == 200, page.text[:500]
    assert "asb-high-risk-conference: target 5 calendar days -&gt; 30 working days" in page.text
    assert "SEED-04 cycle 1: breached → met" in page.text
    assert "+19.0" in page.text
    download = client.get(f"/reports/whatif/download/json?{THIRTY_WORKING}")
    assert download.status_code == 200
    assert 'filename="FY2014-whatif.json"' in download.headers["content-disposition"]
    folder = tmp_path / "proposal"
    folder.mkdir()
    (folder / "policies.yaml").write_text(
        SHIPPED.read_text().replace(
            "target: {days: 5, kind: calendar}", "target: {days: 30, kind: working}", 1
        )
    )
    cli = casewatch("whatif", "--config", str(folder), "--period", "FY2014",
                    "--as-of", NOW.isoformat(), db=site.runtime.url)  # fmt: skip
    assert cli.exit_code == 0, cli.stderr
    assert json.loads(download.content) == cli.json()
    conference = cli.json()["slas"][0]
    assert conference["current"]["pct"] == 81.0
    assert conference["proposed"]["pct"] == 100.0
    assert len(conference["flipped"]) == 4
    csv_file = client.get(f"/reports/whatif/download/csv?{THIRTY_WORKING}")
    assert csv_file.text.startswith("policy,current_cohort,")


def test_a_bad_value_is_refused_in_words_and_nothing_but_audit_is_written(
    client: TestClient[Litestar], site: Site
) -> None:
    """A zero-day target is refused (400) with the policy check's words, a year out of
    range in words too; views write only their audit rows."""
    sign_in(client, "psg")
    before = fingerprint(site.runtime.engine)
    refused = client.get(f"/reports/whatif?{THIRTY_WORKING.replace('days=30', 'days=0')}")
    assert refused.status_code == 400
    assert "target.days must be a whole number, 1 or more" in refused.text
    far = client.get(f"/reports/whatif?{THIRTY_WORKING.replace('FY2014', 'FY9999')}")
    assert far.status_code == 400
    assert "the period FY9999 is out of range" in far.text
    assert client.get(f"/reports/whatif?{THIRTY_WORKING}").status_code == 200
    after = fingerprint(site.runtime.engine)
    changed = {name for name in before if before[name] != after[name]}
    assert changed <= {"audit_log", "web_sessions"}
    with site.runtime.engine.connect() as conn:
        actions = conn.execute(select(AuditRow.action).order_by(AuditRow.id)).scalars().all()
    assert actions[-3:] == ["report.whatif", "report.whatif", "report.whatif"]


def test_a_caseworker_may_not_run_a_what_if(client: TestClient[Litestar]) -> None:
    """What-ifs are for report readers, like the report itself."""
    sign_in(client, "caseworker")
    assert client.get(f"/reports/whatif?{THIRTY_WORKING}").status_code == 403
