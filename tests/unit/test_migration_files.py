"""Migrations are frozen history: they may use the column types they were written with,
never the code that keeps the data (it moves on; an old database must still migrate)."""

from __future__ import annotations

import ast
from pathlib import Path

import casewatch.migrations

VERSIONS = Path(casewatch.migrations.__file__).parent / "versions"
ALLOWED = {"casewatch.cases.db"}  # UTCDateTime and the other column types


def _casewatch_imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return {name for name in modules if name.split(".")[0] == "casewatch"}


def test_migrations_import_no_application_code() -> None:
    files = sorted(VERSIONS.glob("*.py"))
    assert files, VERSIONS
    offending = {f.name: _casewatch_imports(f) - ALLOWED for f in files}
    assert {name: found for name, found in offending.items() if found} == {}


def test_every_revision_is_zero_padded() -> None:
    """schema.projections_added_since orders revisions by their text."""
    revisions = [f.name.split("_")[0] for f in VERSIONS.glob("*.py")]
    assert all(len(r) == 4 and r.isdigit() for r in revisions), revisions
