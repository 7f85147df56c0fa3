"""What the bad-input tests share: the import command's checks and the number of
examples to run (the database fingerprint is tests/databases.py's)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, settings

from tests.cli import Outcome, casewatch

# Examples per database backend for the tests that import or post; the pure validator
# test runs many more. CI runs the fixed (derandomised) set; raise it to explore.
FUZZ_EXAMPLES: Final = int(os.environ.get("CASEWATCH_FUZZ_EXAMPLES", "60"))
VALIDATOR_EXAMPLES: Final = max(2_000, FUZZ_EXAMPLES)

FUZZ: Final = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def run_import(db_url: str, path: Path) -> Outcome:
    """`casewatch import PATH`, in-process; a crash fails the test (no exception is caught)."""
    outcome = casewatch("import", str(path), db=db_url)
    assert_no_stack_trace(outcome.stdout + outcome.stderr)
    return outcome


def assert_no_stack_trace(text: str) -> None:
    assert "Traceback" not in text, text[-2000:]
    assert 'File "' not in text, text[-2000:]


def summary_of(outcome: Outcome) -> dict[str, Any]:
    summary = outcome.json()
    assert set(summary) == {"read", "applied", "duplicates", "rejected", "errors"}, summary
    for error in summary["errors"]:
        assert set(error) == {"line", "event_id", "error"}, error
        assert isinstance(error["error"], str)
        assert error["error"].strip(), error
    return summary
