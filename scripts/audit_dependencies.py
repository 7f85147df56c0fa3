"""Audit every installed dependency against PyPI's advisory data with pip-audit.

Fails (exit 1) on any known vulnerability that is not listed, with its reason, in
scripts/audit-exceptions.txt. When the advisory service cannot be reached (as on a build
machine without internet access) nothing can be audited: that is said loudly, and is a
failure when CASEWATCH_AUDIT_STRICT=1 (set it wherever the internet is reachable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS = ROOT / "scripts" / "audit-exceptions.txt"


def main() -> int:
    venv = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        report = Path(scratch) / "report.json"
        frozen = subprocess.run(
            [venv / "pip", "freeze", "--exclude-editable"], check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip
        requirements.write_text(frozen, encoding="utf-8")
        subprocess.run(
            [venv / "pip-audit", "--requirement", requirements, "--no-deps", "--disable-pip",
             "--progress-spinner", "off", "--format", "json", "--output", report],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        if not report.exists():
            print("audit: pip-audit did not run", file=sys.stderr)
            return 1
        dependencies = json.loads(report.read_text(encoding="utf-8"))["dependencies"]
    accepted = _accepted()
    skipped = [d["name"] for d in dependencies if "skip_reason" in d]
    found = [
        (d["name"], d["version"], v["id"])
        for d in dependencies
        for v in d.get("vulns", [])
        if v["id"] not in accepted
    ]
    audited = len(dependencies) - len(skipped)
    print(f"audit: {audited} of {len(dependencies)} dependencies audited, "
          f"{len(found)} unaccepted known vulnerabilities")  # fmt: skip
    for name, version, advisory in found:
        print(f"audit: {name} {version}: {advisory}", file=sys.stderr)
    if found:
        return 1
    if skipped:
        print(
            f"audit: NOT AUDITED: {len(skipped)} dependencies ({', '.join(skipped[:5])}"
            f"{', …' if len(skipped) > 5 else ''}): the advisory service could not be "
            "reached or does not know them",
            file=sys.stderr,
        )
        if os.environ.get("CASEWATCH_AUDIT_STRICT") == "1":
            return 1
    return 0


def _accepted() -> set[str]:
    """Advisory ids accepted with a written reason: `ID  reason` a line, # for comments."""
    lines = EXCEPTIONS.read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


if __name__ == "__main__":
    sys.exit(main())
