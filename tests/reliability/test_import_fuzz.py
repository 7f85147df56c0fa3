"""`casewatch import` against hostile, near-valid files (contract section 5, issue 8).

Each example is a file mixing valid lines with lines that break one rule each (see
strategies.py). Whatever the file holds, the import must not crash or print a stack trace;
a file with any bad line is rejected whole, each bad line reported by its line number and
event id, and the database is left exactly as it was; a file of valid lines is applied.
The validator, on its own, is fuzzed with many more examples.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from casewatch.cases.problems import Problem
from casewatch.cases.tables import EventRow
from casewatch.cases.validation import EventValidator, RejectedEventError
from casewatch.service.config import Config
from tests.databases import fingerprint
from tests.reliability.strategies import (
    AT,
    STORED_EVENTS,
    TEMPLATES,
    Line,
    broken_event,
    deep_line,
    encode,
    event,
    import_files,
    neutral_change,
    required,
)
from tests.reliability.support import FUZZ, VALIDATOR_EXAMPLES, run_import, summary_of

_examples = itertools.count(1)


def store_baseline(db_url: str, engine: Engine, folder: Path) -> None:
    """The cases and events every example may name or repeat, imported once."""
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).select_from(EventRow).where(EventRow.event_id == "stored-1")
        ).scalar_one()
    if not stored:
        path = folder / "stored.jsonl"
        path.write_bytes(b"".join(encode(e) + b"\n" for e in STORED_EVENTS))
        outcome = run_import(db_url, path)
        assert outcome.exit_code == 0, outcome.stdout


def mentions(error: str, field: str | None) -> bool:
    """Whether the error text names the field a line was broken on (its top-level name;
    a case that is unknown or opened twice is named as "case 'ID'")."""
    if field is None or field == "body":
        return True
    top = field.split(".")[0].split("[")[0]
    return top in error or (top == "case_id" and "case '" in error)


@FUZZ
@given(data=st.data())
def test_a_file_is_applied_whole_or_rejected_line_by_line(
    db_url: str, engine: Engine, tmp_path: Path, data: st.DataObject
) -> None:
    """Any mix of valid and near-valid lines: no crash, no stack trace; each bad line is
    reported by number and event id and nothing changes; a file of good lines applies."""
    store_baseline(db_url, engine, tmp_path)
    prefix = f"f{next(_examples)}"
    file = data.draw(import_files(prefix), label="file")
    path = tmp_path / f"{prefix}.jsonl"
    path.write_bytes(file.content())
    before = fingerprint(engine)

    outcome = run_import(db_url, path)

    summary = summary_of(outcome)
    numbered = file.numbered()
    for _, line in numbered:
        hypothesis.event(f"line: {line.kind}")
    invalid = {n: line for n, line in numbered if not line.valid}
    duplicates = sum(line.duplicate for _, line in numbered)
    assert summary["read"] == len(numbered)
    assert summary["duplicates"] == duplicates, summary
    hypothesis.event("file: rejected" if invalid else "file: applied")
    if invalid:
        assert outcome.exit_code == 1, summary
        assert summary["applied"] == 0
        assert [e["line"] for e in summary["errors"]] == sorted(invalid), summary["errors"]
        assert summary["rejected"] == len(invalid)
        for error in summary["errors"]:
            line = invalid[error["line"]]
            assert error["event_id"] == line.event_id, error
            assert mentions(error["error"], line.field), (line.field, error)
        assert fingerprint(engine) == before
    else:
        fresh = len(numbered) - duplicates
        assert outcome.exit_code == 0, summary
        assert summary == {
            "read": len(numbered),
            "applied": fresh,
            "duplicates": duplicates,
            "rejected": 0,
            "errors": [],
        }
        after = fingerprint(engine)
        assert after["events"][0] == before["events"][0] + fresh  # (rows, digest)
        assert after["imports"][0] == before["imports"][0] + 1


def test_one_good_line_and_one_bad_line_apply_nothing(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """The good line is read but not applied; the bad one is reported; the file, CRLF and
    blank line included, changes nothing."""
    before = fingerprint(engine)
    good = event("case_opened", "g1", "GOOD-1")
    bad = event("incident_reported", "b1", "GOOD-1") | {"at": "2014-05-06T10:30:00"}
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(encode(good) + b"\r\n\r\n" + encode(bad) + b"\r\n")
    outcome = run_import(db_url, path)
    assert outcome.exit_code == 1
    assert outcome.json() == {
        "read": 2,
        "applied": 0,
        "duplicates": 0,
        "rejected": 1,
        "errors": [
            {
                "line": 3,
                "event_id": "b1",
                "error": "'at' '2014-05-06T10:30:00' has no UTC offset; add one, e.g. "
                "+00:00 in winter or +01:00 in summer",
            }
        ],
    }
    assert fingerprint(engine) == before


# -- the validator alone: many more examples, no database ----------------------------------


@st.composite
def validator_inputs(draw: st.DrawFn) -> tuple[Any, Line | None]:
    """A JSON value as a line holds it, and what it is: None for a non-object, else the
    Line saying whether it is valid and which field a rejection names."""
    if draw(st.integers(0, 19)) == 0:
        value = draw(
            st.sampled_from(
                [None, True, 0, 1.5, "text", [], [1], [event("case_reopened", "e", "C")]]
            )
        )
        return value, None
    name = draw(st.sampled_from(sorted(TEMPLATES)))
    case_type = draw(st.sampled_from(["asb", "domestic_abuse"]))
    obj = event(name, "v-1", "C-1", AT, case_type)
    if draw(st.booleans()):
        line = Line(b"", valid=True, body=draw(neutral_change(obj)))
    elif draw(st.integers(0, 9)) == 0:
        line = draw(deep_line(obj))
    else:
        line = draw(broken_event(name, obj, missing=required(name), raw=False))
    return line.body, line


def _identifier_keys(value: Any) -> bool:
    return all(isinstance(k, str) and k.isidentifier() and k.isascii() for k in value)


@settings(
    max_examples=VALIDATOR_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(FUZZ.suppress_health_check),
)
@given(case=validator_inputs())
def test_the_validator_accepts_or_rejects_in_words(
    config: Config, case: tuple[Any, Line | None]
) -> None:
    """It raises nothing but RejectedEventError; every problem names a field the HTTP API
    can point to (the one broken among them), and the event id where there is one."""
    value, line = case
    hypothesis.event("not an object" if line is None else line.kind or "valid")
    validator: EventValidator = config.validator()
    if line is not None and line.valid:
        accepted = validator.validate(value)
        assert accepted.event.event_id == value["event_id"]
        assert "victim" not in json.loads(accepted.payload)
        assert (
            accepted.content_hash == validator.validate(dict(reversed(value.items()))).content_hash
        )
        return
    with pytest.raises(RejectedEventError) as caught:
        validator.validate(value)
    rejection = caught.value
    assert rejection.problems
    assert all(isinstance(p.words, str) and p.words.strip() for p in rejection.problems)
    assert str(rejection) == "; ".join(p.words for p in rejection.problems)
    if line is None:
        assert rejection.problems == [Problem("", "each line must be a JSON object ({...})")]
        assert rejection.event_id is None
        return
    raw_id = value.get("event_id")
    assert rejection.event_id == (raw_id if isinstance(raw_id, str) and raw_id.strip() else None)
    fields = [p.path or "body" for p in rejection.problems]
    if _identifier_keys(value):
        assert "body" not in fields, rejection.problems
    if line.field not in (None, "body"):
        assert any(
            f == line.field or f.startswith((f"{line.field}[", f"{line.field}.")) for f in fields
        ), (line.field, rejection.problems)
