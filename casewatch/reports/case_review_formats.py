"""The publishable renderings of the ASB case review report: CSV and one HTML page.

Fit for a council's website: counts only. No case reference, no applicant, no reason or
action text (free text a caseworker typed may name people), and timeliness as numbers
and RAG without breach or exclusion reasons. Agencies are organisations, not people.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from casewatch.reports.formats import to_csv
from casewatch.reports.templating import report_templates

CSV_FIELDS: Final = ("section", "measure", "agency", "value")
STATUTORY: Final = (
    ("applications", "Applications for an ASB case review received"),
    ("threshold_not_met", "Applications that did not meet the threshold"),
    ("reviews_held", "ASB case reviews carried out"),
    ("reviews_with_recommendations", "Reviews that resulted in recommendations"),
)
RECOMMENDATIONS: Final = ("made", "completed", "open", "overdue")
STAGE_FIELDS: Final = ("cohort", "met", "breached", "excluded", "open", "pct", "target_pct", "rag")


def case_review_rows(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Long format: one figure per row, so a spreadsheet or a chart can take any of them."""

    def row(section: str, measure: str, value: Any, agency: str | None = None) -> dict[str, Any]:
        return {"section": section, "measure": measure, "agency": agency, "value": value}

    yield row("period", "from", report["from"])
    yield row("period", "to", report["to"])
    yield row("period", "as_of", report["as_of"])
    for key, title in STATUTORY:
        yield row("statutory", title, report[key])
    for key in RECOMMENDATIONS:
        yield row("recommendations", key, report["recommendations"][key])
    for tally in report.get("by_agency", ()):
        for key in RECOMMENDATIONS:
            yield row("recommendations by agency", key, tally[key], tally["agency"])
    yield row("appeals", "requested", report["appeals"]["requested"])
    yield row("appeals", "upheld", report["appeals"]["upheld"])
    for stage in report["stages"]:
        for key in STAGE_FIELDS:
            yield row("timeliness", f"{stage['title']}: {key}", stage[key])


def case_review_csv(report: Mapping[str, Any]) -> str:
    return to_csv(CSV_FIELDS, case_review_rows(report))


def case_review_html(report: Mapping[str, Any], label: str | None = None) -> str:
    """One self-contained page, the same figures as the CSV."""
    return (
        report_templates()
        .get_template("case_reviews.html")
        .render(
            report=report,
            label=label or f"{report['from']} to {report['to']}",
            statutory=STATUTORY,
            recommendations=RECOMMENDATIONS,
        )
    )
