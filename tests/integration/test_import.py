"""`casewatch import` on SQLite and PostgreSQL: contract sections 1, 2 and 5."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, select, text

from casewatch.cases.importing import Importer
from casewatch.migrations.schema import target_metadata
from casewatch.service.config import Config
from tests.builders import assessed, ev, jsonl, opened
from tests.cli import casewatch

AT = "2014-05-06T10:30:00+01:00"


def write(tmp_path: Any, lines: list[Any], name: str = "events.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(jsonl(lines))
    return str(path)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every casewatch table, for before/after comparisons."""
    metadata: MetaData = target_metadata()
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def test_import_summary(db_url: str, tmp_path: Any) -> None:
    """A clean file is applied whole and summarised."""
    path = write(tmp_path, [opened("C1", AT), assessed("C1", AT, "high"), "", "   "])
    result = casewatch("import", path, db=db_url)
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"read": 2, "applied": 2, "duplicates": 0, "rejected": 0, "errors": []}


def test_same_file_twice_is_all_duplicates(db_url: str, engine: Engine, tmp_path: Any) -> None:
    """Importing the same file again applies nothing and counts duplicates."""
    path = write(tmp_path, [opened("C1", AT), assessed("C1", AT, "high")])
    casewatch("import", path, db=db_url)
    before = snapshot(engine)
    again = casewatch("import", path, db=db_url)
    assert again.exit_code == 0
    assert again.json() == {"read": 2, "applied": 0, "duplicates": 2, "rejected": 0, "errors": []}
    after = snapshot(engine)
    after.pop("imports"), before.pop("imports")
    assert after == before


def test_duplicate_key_order_does_not_matter(db_url: str, tmp_path: Any) -> None:
    """The same content with keys in another order is still a duplicate."""
    line = opened("C1", AT, team="north")
    casewatch("import", write(tmp_path, [line]), db=db_url)
    reordered = dict(reversed(list(line.items())))
    result = casewatch("import", write(tmp_path, [reordered], "again.jsonl"), db=db_url)
    assert result.json()["duplicates"] == 1


def test_same_id_different_content_is_an_error(db_url: str, tmp_path: Any) -> None:
    """Changing an imported event under the same id is refused, naming line and id."""
    casewatch("import", write(tmp_path, [opened("C1", AT, event_id="e1", team="north")]), db=db_url)
    changed = opened("C1", AT, event_id="e1", team="south")
    result = casewatch("import", write(tmp_path, [changed], "changed.jsonl"), db=db_url)
    assert result.exit_code == 1
    [error] = result.json()["errors"]
    assert (error["line"], error["event_id"]) == (1, "e1")
    assert "different content" in error["error"]


def test_repeat_within_a_file(db_url: str, tmp_path: Any) -> None:
    """Within one file a repeated line is a duplicate; a changed repeat is an error."""
    first = opened("C1", AT, event_id="e1")
    same = casewatch("import", write(tmp_path, [first, first]), db=db_url)
    assert same.json() == {"read": 2, "applied": 1, "duplicates": 1, "rejected": 0, "errors": []}
    clash = casewatch(
        "import",
        write(
            tmp_path,
            [opened("C2", AT, event_id="e2"), opened("C2", AT, event_id="e2", team="x")],
            "b.jsonl",
        ),
        db=db_url,
    )
    assert clash.exit_code == 1
    assert clash.json()["errors"][0]["line"] == 2
    assert "line 1" in clash.json()["errors"][0]["error"]


def test_lines_may_come_in_any_order(db_url: str, tmp_path: Any) -> None:
    """An event may precede its case_opened line in the file."""
    result = casewatch(
        "import", write(tmp_path, [assessed("C1", AT, "high"), opened("C1", AT)]), db=db_url
    )
    assert result.exit_code == 0, result.stdout
    assert result.json()["applied"] == 2


def test_unknown_case_is_an_error(db_url: str, tmp_path: Any) -> None:
    """An event for a case never opened is refused."""
    result = casewatch(
        "import", write(tmp_path, [assessed("NOPE", AT, "high", event_id="x1")]), db=db_url
    )
    assert result.exit_code == 1
    assert result.json()["errors"] == [
        {
            "line": 1,
            "event_id": "x1",
            "error": "case 'NOPE' is not open: no case_opened for it in this file or in an earlier import",
        }
    ]


def test_case_opened_in_an_earlier_import(db_url: str, tmp_path: Any) -> None:
    """Events may name a case opened by an earlier import."""
    casewatch("import", write(tmp_path, [opened("C1", AT)]), db=db_url)
    result = casewatch(
        "import", write(tmp_path, [assessed("C1", AT, "high")], "later.jsonl"), db=db_url
    )
    assert result.json()["applied"] == 1


def test_second_case_opened_is_an_error(db_url: str, tmp_path: Any) -> None:
    """A case is opened once: again in a later file or the same file is refused."""
    casewatch("import", write(tmp_path, [opened("C1", AT)]), db=db_url)
    later = casewatch("import", write(tmp_path, [opened("C1", AT)], "later.jsonl"), db=db_url)
    assert "already exists" in later.json()["errors"][0]["error"]
    same_file = casewatch(
        "import", write(tmp_path, [opened("C2", AT), opened("C2", AT)], "s.jsonl"), db=db_url
    )
    assert "already opened on line 1" in same_file.json()["errors"][0]["error"]


def test_policy_must_apply_to_the_case_type(db_url: str, tmp_path: Any) -> None:
    """An SLA instruction naming another case type's policy is refused."""
    lines = [
        opened("C1", AT, case_type="asb"),
        ev("sla_paused", "C1", AT, policy="da-high-risk-idva-contact", reason="court"),
        ev("sla_paused", "C1", AT, policy="asb-high-risk-conference", reason="court"),
    ]
    result = casewatch("import", write(tmp_path, lines), db=db_url)
    errors = result.json()["errors"]
    assert [e["line"] for e in errors] == [2]
    assert "does not apply to case 'C1', which is an ASB case" in errors[0]["error"]


def test_one_bad_line_leaves_the_database_untouched(
    db_url: str, engine: Engine, tmp_path: Any
) -> None:
    """A file with one bad line in the middle changes nothing, byte for byte."""
    casewatch("import", write(tmp_path, [opened("C0", AT, victim={"name": "Ada"})]), db=db_url)
    before = snapshot(engine)
    lines = [
        opened("C1", AT),
        assessed("C1", AT, "high"),
        assessed("C1", "2014-05-06T10:30:00", "high"),
        ev("case_conference_held", "C1", AT),
        ev("incident_reported", "C0", AT, category="noise"),
    ]
    result = casewatch("import", write(tmp_path, lines, "bad.jsonl"), db=db_url)
    assert result.exit_code == 1
    summary = result.json()
    assert (summary["read"], summary["applied"], summary["rejected"]) == (5, 0, 1)
    assert summary["errors"][0]["line"] == 3
    assert snapshot(engine) == before


def test_errors_are_in_line_order_with_physical_line_numbers(db_url: str, tmp_path: Any) -> None:
    """Line numbers count blank lines too; errors come in line order."""
    lines = ["", "{broken", opened("C1", AT), "", "[]", assessed("C9", AT, "low", event_id="z")]
    result = casewatch("import", write(tmp_path, lines), db=db_url)
    summary = result.json()
    assert summary["read"] == 4
    assert [(e["line"], e["event_id"]) for e in summary["errors"]] == [
        (2, None),
        (5, None),
        (6, "z"),
    ]
    assert summary["rejected"] == 3


def test_invalid_utf8_is_an_error(db_url: str, tmp_path: Any) -> None:
    """A line that is not UTF-8 is rejected, not crashed on."""
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(jsonl([opened("C1", AT)]) + b'{"event_id": "\xe9"}\n')
    result = casewatch("import", str(path), db=db_url)
    assert result.exit_code == 1
    assert "UTF-8" in result.json()["errors"][0]["error"]


def test_import_from_stdin(db_url: str) -> None:
    """`-` reads the events from standard input."""
    result = casewatch("import", "-", db=db_url, stdin=jsonl([opened("C1", AT)]))
    assert result.json()["applied"] == 1


def test_unreadable_file_is_a_usage_error(db_url: str, tmp_path: Any) -> None:
    """A missing file exits 2 and says why."""
    result = casewatch("import", str(tmp_path / "missing.jsonl"), db=db_url)
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_bad_option_is_a_usage_error(db_url: str) -> None:
    """Unknown options exit 2."""
    assert casewatch("import", "--frobnicate", db=db_url).exit_code == 2


def test_victim_data_is_stored_apart(db_url: str, engine: Engine, tmp_path: Any) -> None:
    """The victim's details are kept only in personal_data, not in the event payload."""
    casewatch(
        "import", write(tmp_path, [opened("C1", AT, victim={"name": "Ada Example"})]), db=db_url
    )
    with engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM events")).scalar_one()
        personal = conn.execute(text("SELECT data FROM personal_data")).scalar_one()
    assert "Ada Example" not in payload
    assert json.loads(personal) == {"name": "Ada Example"}


def test_projection_follows_the_events(db_url: str, engine: Engine, tmp_path: Any) -> None:
    """The cases table is the fold of the events, and its version counts the writes."""
    casewatch(
        "import",
        write(tmp_path, [opened("C1", AT, team="north"), assessed("C1", AT, "high")]),
        db=db_url,
    )
    casewatch(
        "import",
        write(tmp_path, [ev("case_closed", "C1", "2014-06-01T09:00:00+01:00")], "b.jsonl"),
        db=db_url,
    )
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT team, status, risk_level, event_count, version FROM cases")
        ).one()
    assert tuple(row) == ("north", "closed", "high", 3, 2)


@pytest.mark.parametrize("blank", ["\n", "\r\n", "  \t\n"])
def test_blank_lines_are_not_read(db_url: str, tmp_path: Any, blank: str) -> None:
    """Whitespace-only lines are skipped and not counted."""
    path = tmp_path / "blank.jsonl"
    path.write_bytes(blank.encode() + jsonl([opened("C1", AT)]) + blank.encode())
    assert casewatch("import", str(path), db=db_url).json()["read"] == 1


_event_kinds = st.sampled_from(["incident", "assess", "contact", "dup", "conference"])


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(_event_kinds, min_size=1, max_size=12), cases=st.integers(1, 3))
def test_importing_a_file_twice_changes_nothing(
    db_url: str, engine: Engine, tmp_path_factory: Any, kinds: list[str], cases: int
) -> None:
    """For any valid file, a second import applies nothing and leaves every table as it was."""
    prefix = f"P{abs(hash((tuple(kinds), cases))) % 10**8}-{len(kinds)}"
    lines: list[dict[str, Any]] = [opened(f"{prefix}-{c}", AT) for c in range(cases)]
    for index, kind in enumerate(kinds):
        case_id = f"{prefix}-{index % cases}"
        at = f"2014-05-{7 + index % 20:02d}T09:00:00+01:00"
        if kind == "incident":
            lines.append(ev("incident_reported", case_id, at, category="noise"))
        elif kind == "assess":
            lines.append(assessed(case_id, at, "high"))
        elif kind == "contact":
            lines.append(ev("contact_attempted", case_id, at, method="call"))
        elif kind == "conference":
            lines.append(ev("case_conference_held", case_id, at))
        else:
            lines.append(lines[-1])
    folder = tmp_path_factory.mktemp("twice")
    path = write(folder, lines)
    first = casewatch("import", path, db=db_url)
    assert first.exit_code == 0, first.stdout
    before = snapshot(engine)
    second = casewatch("import", path, db=db_url).json()
    assert second["applied"] == 0
    assert second["duplicates"] == len(lines)
    after = snapshot(engine)
    after.pop("imports"), before.pop("imports")
    assert after == before


def test_text_the_database_cannot_hold_is_rejected_in_words(
    db_url: str, engine: Engine, tmp_path: Any
) -> None:
    """NUL in ids or names, a 201-character team, the year 9999: each line rejected by
    field, nothing applied, no internal error (PostgreSQL refuses NUL outright)."""
    before = snapshot(engine)
    lines = [
        opened("C\x00", AT),
        opened("C2", AT) | {"event_id": "e\x00"},
        opened("C3", AT) | {"team": "t" * 201},
        opened("C4", "9999-12-31T23:00:00+00:00"),
        opened("C5", "0001-01-01T00:00:00+14:00"),
    ]
    result = casewatch("import", write(tmp_path, lines), db=db_url)
    assert result.exit_code == 1, result.stderr
    errors = {e["line"]: e["error"] for e in result.json()["errors"]}
    assert "'case_id' contains the NUL character" in errors[1]
    assert "'event_id' contains the NUL character" in errors[2]
    assert "'team' is longer than 200 characters" in errors[3]
    assert "between the years 1900 and 2999" in errors[4]
    assert "between the years 1900 and 2999" in errors[5]
    assert snapshot(engine) == before


def test_cross_line_problems_name_their_field(
    db_url: str, engine: Engine, config: Config, tmp_path: Any
) -> None:
    """Each check that needs other lines says which field it refuses, beside its words."""
    first = write(tmp_path, [opened("C1", AT, event_id="e1", team="north")], "first.jsonl")
    assert casewatch("import", first, db=db_url).exit_code == 0
    importer = Importer(engine, config.validator(), [])  # refused whole: nothing to project
    lines = [
        opened("C1", AT, event_id="e1", team="south"),
        opened("C2", AT, event_id="o2"),
        opened("C2", AT, event_id="o3"),
        ev("incident_reported", "NOPE", AT, "n4", category="noise"),
        ev("sla_paused", "C2", AT, "p5", policy="da-high-risk-idva-contact", reason="court"),
        ev("incident_reported", "C2", AT, "r6", category="noise"),
        ev("incident_reported", "C2", AT, "r6", category="litter"),
        "{not json",
    ]
    summary = importer.run(jsonl(lines).splitlines(keepends=True), source="test")
    found = {e.line: [p.path for p in e.problems] for e in summary.errors}
    assert found == {
        1: ["event_id", "case_id"],
        3: ["case_id"],
        4: ["case_id"],
        5: ["policy"],
        7: ["event_id"],
        8: [""],
    }
    for error in summary.errors:
        assert error.error == "; ".join(p.words for p in error.problems)
    assert summary.errors[0].problems[1].words == (
        "case 'C1' already exists (opened by an earlier import); "
        "use case_reopened to reopen a closed case"
    )
