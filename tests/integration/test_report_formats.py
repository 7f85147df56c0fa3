"""Every rendering of the report, each opened by its own reader: the csv module,
openpyxl, an HTML parser, PIL; the board pack as a folder of them."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image

from tests.cli import casewatch

SEED = Path(__file__).resolve().parents[1] / "scenarios" / "seed-2014-15.jsonl"
AS_OF = ("--as-of", "2015-06-30")
PERIOD = ("report", "sla", "--from", "2014-04-01", "--to", "2015-03-31", *AS_OF)
QUARTER = ("report", "sla", "--period", "2014-Q3", "--compare", "previous", *AS_OF)


class Page(HTMLParser):
    """The cells, captions, header scopes and images of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.captions: list[str] = []
        self.scopes: list[str | None] = []
        self.images: list[dict[str, str | None]] = []
        self.scripts = 0
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th", "caption"):
            self._open.append(tag)
            (self.captions if tag == "caption" else self.cells).append("")
        if tag == "th":
            self.scopes.append(dict(attrs).get("scope"))
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            target = self.captions if self._open[-1] == "caption" else self.cells
            target[-1] += data.strip()


def seeded(db_url: str) -> None:
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0


def test_csv_has_the_json_fields(db_url: str) -> None:
    """One CSV row per JSON entry, same fields, reasons as JSON; with --by, a total per
    policy marked as such."""
    seeded(db_url)
    rows = list(
        csv.DictReader(io.StringIO(casewatch(*PERIOD, "--format", "csv", db=db_url).stdout))
    )
    assert [r["policy"] for r in rows][:2] == [
        "asb-high-risk-conference",
        "asb-high-risk-reduction",
    ]
    reduction = rows[1]
    assert (reduction["met"], reduction["breached"], reduction["pct"], reduction["rag"]) == (
        "12",
        "5",
        "70.6",
        "red",
    )
    assert json.loads(reduction["breach_reasons"]) == {
        "criminal case ongoing": 3,
        "victim not engaging": 2,
    }
    grouped = list(
        csv.DictReader(
            io.StringIO(casewatch(*PERIOD, "--by", "team", "--format", "csv", db=db_url).stdout)
        )
    )
    groups = [r for r in grouped if r["scope"] == "group"]
    totals = [r for r in grouped if r["scope"] == "total"]
    assert {r["team"] for r in groups} == {"asb-north", "asb-south"}
    assert [r["team"] for r in totals] == [""] * 8  # every policy, the case review's too
    for total in totals:
        mine = [r for r in groups if r["policy"] == total["policy"]]
        assert int(total["cohort"]) == sum(int(r["cohort"]) for r in mine)


def test_xlsx_has_a_sheet_per_section_with_numbers_as_numbers(db_url: str, tmp_path: Path) -> None:
    seeded(db_url)
    output = tmp_path / "report.xlsx"
    result = casewatch(
        *QUARTER, "--by", "team", "--format", "xlsx", "--output", str(output), db=db_url
    )
    assert result.exit_code == 0, result.stderr
    book = load_workbook(output)
    assert book.sheetnames == ["SLAs", "Measures", "Quarters", "Misses", "About"]
    sheet = book["SLAs"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["team", "policy", "title"]
    assert header[-4:] == ["previous_pct", "change", "direction", "scope"]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    assert all(isinstance(r["cohort"], int) for r in rows)
    decided = [r for r in rows if r["pct"] is not None]
    assert decided and all(isinstance(r["pct"], int | float) for r in decided)
    red = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.value == "red")
    assert red.fill.fgColor.rgb.endswith("F6C5C5")
    misses = book["Misses"]
    assert [c.value for c in misses[1]][:2] == ["policy", "case_id"]
    assert misses.max_row > 1
    assert book["About"]["B1"].value == "2014-Q3"


def test_html_shows_rag_as_text_and_embeds_the_chart(db_url: str, tmp_path: Path) -> None:
    """The HTML page is self-contained and accessible: RAG in words beside the colour,
    captioned tables with header scopes, the chart inline with alternative text."""
    seeded(db_url)
    output = tmp_path / "report.html"
    result = casewatch(*QUARTER, "--format", "html", "--output", str(output), db=db_url)
    assert result.exit_code == 0, result.stderr
    page = Page()
    page.feed(output.read_text())
    # Q3 of the seed year: both ASB targets amber, one better and one worse than Q2
    assert {"Amber", "No decided cycles"} <= set(page.cells)
    assert any(cell.startswith("Targets and outcomes") for cell in page.captions)
    assert any(cell.startswith("Partnership measures") for cell in page.captions)
    assert None not in page.scopes
    [chart] = page.images
    assert (chart["src"] or "").startswith("data:image/png;base64,")
    assert len(chart["alt"] or "") > 40
    assert page.scripts == 0
    assert "<link" not in output.read_text()  # nothing to fetch: one file to email or print
    assert any(c.endswith("▲ better") for c in page.cells)
    assert any(c.endswith("▼ worse") for c in page.cells)


def test_png_is_a_chart_per_policy_of_the_quarters(db_url: str, tmp_path: Path) -> None:
    """The PNG opens as an image: a 2 x 4 grid of 500 x 300 panels for eight policies."""
    seeded(db_url)
    output = tmp_path / "report.png"
    result = casewatch(
        *PERIOD, "--by", "team", "--format", "png", "--output", str(output), db=db_url
    )
    assert result.exit_code == 0, result.stderr
    with Image.open(output) as image:
        assert image.format == "PNG"
        assert image.size == (1000, 1200)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50  # a drawn chart, not a blank canvas


def test_pack_writes_every_file_in_one_go(db_url: str, tmp_path: Path) -> None:
    seeded(db_url)
    folder = tmp_path / "pack"
    result = casewatch(
        "report", "pack", "--period", "2014-Q3", *AS_OF, "--output", str(folder), db=db_url
    )
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert summary["period"] == "2014-Q3"
    names = sorted(p.name for p in folder.iterdir())
    assert (
        names
        == sorted(summary["files"])
        == [
            "case-reviews.csv",
            "case-reviews.html",
            "case-reviews.json",
            "measures.csv",
            "misses.csv",
            "report.html",
            "report.json",
            "report.xlsx",
            "sla-by-quarter.png",
            "sla.csv",
        ]
    )
    report = json.loads((folder / "report.json").read_text())
    assert report["previous"]["period"] == "2014-Q2"  # a pack compares by default
    misses = list(csv.DictReader(io.StringIO((folder / "misses.csv").read_text())))
    assert len(misses) == len(report["misses"])
    assert load_workbook(folder / "report.xlsx").sheetnames[0] == "SLAs"


def test_usage_errors(db_url: str) -> None:
    """--format, --by, --period and --compare take known values only; a period is needed,
    once; --to before --from is refused."""
    assert casewatch(*PERIOD, "--format", "pdf", db=db_url).exit_code == 2
    assert casewatch(*PERIOD, "--by", "postcode", db=db_url).exit_code == 2
    assert casewatch(*PERIOD, "--compare", "last-year", db=db_url).exit_code == 2
    bad_period = casewatch("report", "sla", "--period", "2014-Q5", db=db_url)
    assert bad_period.exit_code == 2
    assert "2014-Q1" in bad_period.stderr
    assert casewatch("report", "sla", db=db_url).exit_code == 2
    assert (
        casewatch(
            "report", "sla", "--period", "FY2014", "--from", "2014-04-01", db=db_url
        ).exit_code
        == 2
    )
    assert (
        casewatch(
            "report", "sla", "--from", "2015-01-01", "--to", "2014-01-01", db=db_url
        ).exit_code
        == 2
    )
