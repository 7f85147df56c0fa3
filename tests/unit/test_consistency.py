"""Comparing stored rows with replayed ones, key by key and field by field."""

from __future__ import annotations

from casewatch.engine.consistency import Difference, compare


def test_compare_reports_fields_and_missing_rows() -> None:
    stored = {"p #1": {"state": "stopped", "outcome": "met"}, "p #2": {"state": "running"}}
    replayed = {"p #1": {"state": "stopped", "outcome": "breached"}, "p #3": {"state": "running"}}
    assert list(compare("C", "cycle", stored, replayed, ("state", "outcome"))) == [
        Difference("C", "cycle", "p #1", "outcome", "met", "breached"),
        Difference("C", "cycle", "p #2", "presence", True, False),
        Difference("C", "cycle", "p #3", "presence", False, True),
    ]
    assert list(compare("C", "cycle", stored, stored, ("state", "outcome"))) == []
