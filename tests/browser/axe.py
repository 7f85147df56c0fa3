"""axe-core in the browser tests: inject it into a Playwright page and run it at the WCAG
2.2 A/AA tags. Reuse `assert_accessible(page)` in any browser test of a page.

axe-core comes from the npm registry at the version pinned in package.json and
package-lock.json (`scripts/setup.sh --with-browser` runs `npm ci`); it is read from
node_modules, never fetched by a test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Page

ROOT: Final = Path(__file__).resolve().parents[2]
AXE: Final = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 success criteria at levels A and AA: what the Public Sector Bodies
# Accessibility Regulations ask of councils and police.
WCAG_22_AA: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


def axe_source() -> str:
    assert AXE.exists(), (
        f"axe-core is not installed at {AXE}: run scripts/setup.sh --with-browser "
        "(npm ci installs the version package-lock.json pins)"
    )
    return AXE.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, at the WCAG 2.2 A/AA tags."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # evaluated by the driver: the page's CSP does not apply
    options = {
        "runOnly": {"type": "tag", "values": list(WCAG_22_AA)},
        "resultTypes": ["violations"],
    }
    result: dict[str, Any] = page.evaluate(
        "async (options) => await window.axe.run(document, options)", options
    )
    found: list[dict[str, Any]] = result["violations"]
    return found


def described(found: list[dict[str, Any]]) -> str:
    """Each violation with its rule, impact and the first few elements it names."""
    lines = []
    for v in found:
        targets = [json.dumps(node["target"]) for node in v["nodes"][:3]]
        summary = v["nodes"][0].get("failureSummary", "").replace("\n", " ") if v["nodes"] else ""
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(targets)}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """No axe-core violation at the WCAG 2.2 A/AA tags on the page as it is now."""
    found = violations(page)
    assert not found, f"{page.url}:\n{described(found)}"
