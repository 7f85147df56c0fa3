"""The nasty-input corpus: each file of tests/data/nasty-inputs imported on both
databases, its summary compared word for word with expected.json, the database unchanged.
Huge strings are made here rather than kept in the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import Engine

from tests.databases import fingerprint
from tests.reliability.strategies import encode, event
from tests.reliability.support import run_import, summary_of

CORPUS: Final = Path(__file__).resolve().parents[1] / "data" / "nasty-inputs"
EXPECTED: Final[dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))


def import_baseline(db_url: str) -> None:
    outcome = run_import(db_url, CORPUS / EXPECTED["baseline"])
    assert outcome.exit_code == 0, outcome.stdout


def test_every_corpus_file_has_its_expectation() -> None:
    """No file without expectations (or the reverse); every file is small."""
    files = {p.name for p in CORPUS.glob("*.jsonl")} - {EXPECTED["baseline"]}
    assert files == set(EXPECTED["files"])
    assert all(p.stat().st_size < 50_000 for p in CORPUS.glob("*.jsonl"))
    for expected in EXPECTED["files"].values():
        assert expected["exit_code"] == 1
        assert expected["summary"]["applied"] == 0
        assert expected["summary"]["rejected"] == len(expected["summary"]["errors"]) > 0


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_a_nasty_file_is_refused_in_the_words_recorded(
    name: str, db_url: str, engine: Engine
) -> None:
    import_baseline(db_url)
    before = fingerprint(engine)
    outcome = run_import(db_url, CORPUS / name)
    expected = EXPECTED["files"][name]
    assert outcome.exit_code == expected["exit_code"]
    assert summary_of(outcome) == expected["summary"]
    assert fingerprint(engine) == before


MILLION: Final = 1_000_000
KNOWN_TYPES: Final = (
    "case_opened, incident_reported, risk_assessed, case_conference_held, "
    "partner_actions_agreed, contact_attempted, referral_made, idva_contact_made, sla_paused, "
    "sla_resumed, sla_excluded, breach_explained, case_closed, case_reopened, "
    "case_review_requested, applicant_informed, threshold_decided, case_review_held, "
    "recommendations_made, recommendation_completed, appeal_requested, appeal_decided"
)


def test_huge_strings_are_refused_by_field_or_kept(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A million characters where the contract bounds a field: refused by field, the value
    cut short in the message. In free text, the victim's details or an extra field (five
    million there): accepted, once the bad lines are gone."""
    huge = "a" * MILLION
    good = [
        event("case_opened", "huge-ok-1", "HUGE-1") | {"victim": {"name": "é" * MILLION}},
        event("incident_reported", "huge-ok-2", "HUGE-1") | {"category": "😀" * MILLION},
        event("contact_attempted", "huge-ok-3", "HUGE-1") | {"x_notes": "\u202e" * 5 * MILLION},
    ]
    bad = [
        event("incident_reported", huge, "HUGE-1"),
        event("incident_reported", "huge-case", huge),
        event("case_opened", "huge-team", "HUGE-2") | {"team": huge},
        event("incident_reported", "huge-type", "HUGE-1") | {"type": huge},
        event("incident_reported", "huge-at", "HUGE-1") | {"at": huge},
    ]
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b"\n".join(encode(e) for e in [*good, *bad]) + b"\n")
    before = fingerprint(engine)
    outcome = run_import(db_url, path)
    assert outcome.exit_code == 1
    assert summary_of(outcome) == {
        "read": 8,
        "applied": 0,
        "duplicates": 0,
        "rejected": 5,
        "errors": [
            {"line": 4, "event_id": huge, "error": "'event_id' is longer than 200 characters"},
            {
                "line": 5,
                "event_id": "huge-case",
                "error": "'case_id' is longer than 200 characters",
            },
            {"line": 6, "event_id": "huge-team", "error": "'team' is longer than 200 characters"},
            {
                "line": 7,
                "event_id": "huge-type",
                "error": f"unknown event type '{'a' * 39}…' (known types: {KNOWN_TYPES})",
            },
            {
                "line": 8,
                "event_id": "huge-at",
                "error": f"'at' '{'a' * 59}…' is not an ISO 8601 timestamp "
                "(expected e.g. 2014-05-06T10:30:00+01:00)",
            },
        ],
    }
    assert fingerprint(engine) == before
    path.write_bytes(b"\n".join(encode(e) for e in good))
    accepted = run_import(db_url, path)
    assert accepted.exit_code == 0, accepted.stdout[:500]
    assert summary_of(accepted)["applied"] == 3
