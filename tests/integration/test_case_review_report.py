"""`casewatch report case-reviews` on SQLite and PostgreSQL: the contract's JSON keys, the
publishable CSV and HTML, the options shared with `report sla`, and the pack section."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.cli import casewatch

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "case-reviews-year.jsonl"
FY = ("report", "case-reviews", "--period", "FY2024", "--as-of", "2025-06-30")
CASE_REFERENCES = ("CR-R1", "CR-R2", "CR-R3", "CR-R4")
FREE_TEXT = ("targeted patrols", "harm not weighed", "asb-north", "tenancy warning")


def seeded(db_url: str) -> None:
    result = casewatch("import", str(SCENARIO), db=db_url)
    assert result.exit_code == 0, result.stdout


def test_json_has_exactly_the_contract_keys(db_url: str) -> None:
    """Top-level keys in the contract's order, nothing added; stages are report sla entries."""
    seeded(db_url)
    report = casewatch(*FY, db=db_url).json()
    assert list(report) == [
        "from",
        "to",
        "as_of",
        "applications",
        "threshold_not_met",
        "reviews_held",
        "reviews_with_recommendations",
        "recommendations",
        "appeals",
        "stages",
    ]
    sla = casewatch("report", "sla", "--period", "FY2024", "--as-of", "2025-06-30", db=db_url)
    review_entries = [e for e in sla.json()["slas"] if e["policy"].startswith("asb-review-")]
    assert report["stages"] == review_entries


def test_csv_and_html_hold_counts_and_no_case_reference(db_url: str, tmp_path: Path) -> None:
    """The publishable files name no case, team, reason or action; they carry the figures
    and the recommendations by agency (Council's one open and overdue)."""
    seeded(db_url)
    text = casewatch(*FY, "--format", "csv", db=db_url).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    figures = {(r["section"], r["measure"], r["agency"]): r["value"] for r in rows}
    assert figures[("statutory", "Applications for an ASB case review received", "")] == "3"
    assert figures[("statutory", "Reviews that resulted in recommendations", "")] == "2"
    assert figures[("recommendations by agency", "overdue", "Council")] == "1"
    assert figures[("recommendations by agency", "completed", "Police")] == "1"
    output = tmp_path / "reviews.html"
    result = casewatch(*FY, "--format", "html", "--output", str(output), db=db_url)
    assert result.exit_code == 0, result.stderr
    page = output.read_text()
    assert "Reviews that resulted in recommendations" in page
    for secret in (*CASE_REFERENCES, *FREE_TEXT):
        assert secret not in text, secret
        assert secret not in page, secret


def test_options_are_checked_as_for_report_sla(db_url: str) -> None:
    """An unknown format or period is a usage error (exit 2); an empty database is zeros."""
    assert casewatch(*FY, "--format", "png", db=db_url).exit_code == 2
    assert casewatch("report", "case-reviews", "--period", "FY24", db=db_url).exit_code == 2
    empty = casewatch(*FY, db=db_url)
    assert empty.exit_code == 0
    assert empty.json()["applications"] == 0
    assert [s["cohort"] for s in empty.json()["stages"]] == [0, 0, 0, 0]


def test_the_pack_carries_the_case_review_section(db_url: str, tmp_path: Path) -> None:
    """report pack writes the case review page, CSV and JSON beside the SLA report."""
    seeded(db_url)
    folder = tmp_path / "pack"
    result = casewatch(
        "report", "pack", "--period", "FY2024", "--as-of", "2025-06-30", "--output",
        str(folder), db=db_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    packed = json.loads((folder / "case-reviews.json").read_text())
    assert packed == casewatch(*FY, db=db_url).json()
    assert "CR-R1" not in (folder / "case-reviews.html").read_text()
