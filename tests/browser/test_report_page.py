"""The report page as a browser shows it: Debian's headless Chromium renders the HTML
report, a screenshot is kept in test-artifacts/, and the RAG colours and words are on it.

Chromium comes from Debian's `chromium` package (`make test` installs it through
scripts/setup.sh); a missing browser fails this test, it never skips it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image

from tests.cli import casewatch

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SEED = ROOT / "tests" / "scenarios" / "seed-2014-15.jsonl"
WIDTH, HEIGHT = 1280, 1600
AMBER_BADGE = (0xFF, 0xE3, 0xA3)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # this machine's network is closed: background connections only fail, slowly
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "Debian's chromium is not installed: run scripts/setup.sh --with-browser"
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_report_page_renders_in_chromium(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'casewatch.db'}"
    assert casewatch("import", str(SEED), db=db).exit_code == 0
    page = tmp_path / "report.html"
    result = casewatch(
        "report", "sla", "--period", "FY2014", "--as-of", "2015-06-30", "--by", "team",
        "--format", "html", "--output", str(page), db=db,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr

    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<h1>SLA performance: FY2014</h1>" in dom
    assert ">Amber</span>" in dom and ">Red</span>" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-page.png"
    shot.unlink(missing_ok=True)
    run_chromium(tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        pixels = image.convert("RGB")
        colours = {colour for _, colour in pixels.getcolors(maxcolors=WIDTH * HEIGHT) or []}
    assert AMBER_BADGE in colours, "the amber RAG badge is not on the rendered page"
