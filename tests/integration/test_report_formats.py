"""`report sla` in CSV, HTML and PNG, each read back by its own reader."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

from matplotlib import image

from tests.cli import casewatch

SEED = Path(__file__).resolve().parents[1] / "scenarios" / "seed-2014-15.jsonl"
PERIOD = ("report", "sla", "--from", "2014-04-01", "--to", "2015-03-31", "--as-of", "2015-06-30")


class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.images: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1] += data.strip()


def seeded(db_url: str) -> None:
    assert casewatch("import", str(SEED), db=db_url).exit_code == 0


def test_csv_has_the_json_fields(db_url: str) -> None:
    """One CSV row per JSON entry, same fields, reasons as JSON."""
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


def test_html_shows_rag_as_text_and_embeds_the_chart(db_url: str, tmp_path: Path) -> None:
    """The HTML page is self-contained, with RAG in words beside the colour."""
    seeded(db_url)
    output = tmp_path / "report.html"
    assert casewatch(*PERIOD, "--format", "html", "--output", str(output), db=db_url).exit_code == 0
    parser = Cells()
    parser.feed(output.read_text())
    assert "Amber" in parser.cells and "Red" in parser.cells
    assert "81.0" in parser.cells and "70.6" in parser.cells
    assert any("criminal case ongoing: 3" in cell for cell in parser.cells)
    [chart] = parser.images
    assert chart.startswith("data:image/png;base64,")
    assert "<script" not in output.read_text()


def test_png_is_a_real_image(db_url: str, tmp_path: Path) -> None:
    """The PNG chart opens as an image of the expected size."""
    seeded(db_url)
    output = tmp_path / "report.png"
    assert (
        casewatch(
            *PERIOD, "--by", "team", "--format", "png", "--output", str(output), db=db_url
        ).exit_code
        == 0
    )
    pixels = image.imread(str(output))
    height, width = pixels.shape[:2]
    assert width == 900
    assert height >= 250


def test_unknown_format_and_grouping_are_usage_errors(db_url: str) -> None:
    """--format and --by take known values only; --to before --from is refused."""
    assert casewatch(*PERIOD, "--format", "pdf", db=db_url).exit_code == 2
    assert casewatch(*PERIOD, "--by", "caseworker", db=db_url).exit_code == 2
    assert (
        casewatch(
            "report", "sla", "--from", "2015-01-01", "--to", "2014-01-01", db=db_url
        ).exit_code
        == 2
    )
