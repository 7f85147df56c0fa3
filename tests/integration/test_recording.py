"""The HTTP service's write path (cases.recording) against `casewatch import` of one line
per import, on SQLite and PostgreSQL: the same lines leave the same rows and the same
refused line gets the same problems, in the same order and words.

Compared: every table of the schema, row by row in primary-key order, every column but
the wall-clock times written at the moment of the write (`WALL_CLOCK`). Import ids,
event sequence numbers, cycle ids and the `imports` rows themselves are compared too:
the single path records the same import rows, in the same sequence, as the import. Both
databases are given the same victim-link secret, as a restore would."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select

from casewatch.cases.db import create_db_engine
from casewatch.cases.importing import Importer, ImportSummary
from casewatch.cases.recording import Recorder
from casewatch.cases.tables import LinkSecretRow
from casewatch.migrations.schema import target_metadata
from casewatch.service.config import Config
from casewatch.service.runtime import Runtime
from tests.databases import PostgresTestDatabase, SqliteTemplate
from tests.reliability.strategies import (
    EVENT_TEMPLATES,
    OTHER_TYPE,
    broken_event,
    encode,
    event,
    required,
)

WALL_CLOCK: Final = {
    "imports": {"recorded_at"},
    "cases": {"updated_at"},
    "case_rulesets": {"derived_at"},
    "ruleset_versions": {"recorded_at"},
}
SECRET: Final = "5e" * 32
SOURCE: Final = "api:k.doyle"
CASES: Final = ("C1", "C2", "C3")
START: Final = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# Few instants, so events of one case often share one: ties order by import.
HOURS: Final = (0, 0, 1, 1, 26, 24 * 9, 24 * 40)
EXAMPLES: Final = 20
_folders = itertools.count()


@pytest.fixture(scope="module")
def _second_postgres() -> Iterator[PostgresTestDatabase]:
    database = PostgresTestDatabase()
    yield database
    database.drop()


@pytest.fixture
def twin_databases(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> Callable[[], tuple[str, str]]:
    """Two new empty databases on the backend of `db_url`, each time it is called."""
    if db_url.startswith("sqlite"):
        template: SqliteTemplate = request.getfixturevalue("_sqlite_template")

        def sqlite() -> tuple[str, str]:
            urls = []
            for side in ("recorded", "imported"):
                folder = tmp_path / f"{side}{next(_folders)}"
                folder.mkdir()
                urls.append(template.copy_to(folder))
            return urls[0], urls[1]

        return sqlite
    first: PostgresTestDatabase = request.getfixturevalue("postgres_database")
    second: PostgresTestDatabase = request.getfixturevalue("_second_postgres")
    return lambda: (first.reset(), second.reset())


class Twins:
    """The same lines written to one database by the recorder, to the other by one-line
    imports, with what each said about every line."""

    def __init__(self, config: Config, recorded_url: str, imported_url: str) -> None:
        self.engines = (create_db_engine(recorded_url), create_db_engine(imported_url))
        for engine in self.engines:
            with engine.begin() as conn:
                conn.execute(insert(LinkSecretRow).values(id=1, secret=SECRET, created_at=START))
        recorded, imported = (
            Runtime(config=config, engine=engine, url=str(engine.url)) for engine in self.engines
        )
        self.recorder = Recorder(recorded.engine, config.validator(), recorded.projectors())
        self.importer = Importer(imported.engine, config.validator(), imported.projectors())

    def write(self, raw: bytes) -> tuple[ImportSummary, ImportSummary]:
        return (
            self.recorder.record(raw, source=SOURCE),
            self.importer.run([raw], source=SOURCE),
        )

    def rows(self) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]]:
        recorded, imported = (stored_rows(engine) for engine in self.engines)
        return recorded, imported

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


def stored_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, without the columns written from the clock."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in target_metadata().sorted_tables:
            columns = [c for c in table.columns if c.name not in WALL_CLOCK.get(table.name, ())]
            query = select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in conn.execute(query)]
    return rows


# -- generated streams ---------------------------------------------------------------------


def _at(draw: st.DrawFn) -> str:
    return (START + timedelta(hours=draw(st.sampled_from(HOURS)))).isoformat()


def _complaints(at: str, count: int) -> list[dict[str, Any]]:
    """`count` complaints that qualify for an application at `at`."""
    made = datetime.fromisoformat(at)
    return [
        {
            "reported_at": (made - timedelta(days=10 - n)).isoformat(),
            "behaviour_at": (made - timedelta(days=11 - n)).isoformat(),
            "agency": "police" if n % 2 else "council",
        }
        for n in range(count)
    ]


@st.composite
def review_event(draw: st.DrawFn, event_id: str, case_id: str) -> dict[str, Any]:
    """An ASB case review event; with others of its case it may break a cross-line rule
    (a decision without application, 'not met' past the threshold, a reused or unknown
    recommendation id, any of them on a domestic abuse case)."""
    at = _at(draw)
    envelope = {"event_id": event_id, "case_id": case_id, "at": at}
    kind = draw(
        st.sampled_from(
            ["requested", "decided", "decided", "recommendations", "completed", "informed", "held"]
        )
    )
    if kind == "requested":
        count = draw(st.integers(1, 3))
        fields = {"applicant": "victim", "complaints": _complaints(at, count)}
        return envelope | {"type": "case_review_requested"} | fields
    if kind == "decided":
        met = draw(st.booleans())
        return envelope | {"type": "threshold_decided", "met": met, "reason": "persistence"}
    if kind == "recommendations":
        rec_id = draw(st.sampled_from(["r1", "r2"]))
        recommendation = {
            "id": rec_id,
            "agency": "police",
            "action": "patrols",
            "due": "2024-06-01",
        }
        return envelope | {"type": "recommendations_made", "recommendations": [recommendation]}
    if kind == "completed":
        rec_id = draw(st.sampled_from(["r1", "r9"]))
        return envelope | {"type": "recommendation_completed", "id": rec_id}
    if kind == "informed":
        return envelope | {"type": "applicant_informed", "stage": "acknowledged"}
    return envelope | {"type": "case_review_held"}


KINDS: Final = [
    "open", "open", "open", "event", "event", "event", "event", "review", "review", "review",
    "reopen", "unknown_case", "other_policy", "repeat", "conflict", "broken",
]  # fmt: skip


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """Lines for up to three cases, each (kind, bytes): openings (some victims shared
    across cases), events of every type, case review events, and lines the import
    refuses, alone or for what other lines or the database hold."""
    ids = itertools.count(1)
    case_types = {c: draw(st.sampled_from(["asb", "domestic_abuse"])) for c in CASES}
    references = {c: draw(st.sampled_from([None, "P-1", "P-2"])) for c in CASES}
    unopened = list(CASES)
    objects: list[dict[str, Any]] = []
    lines: list[tuple[str, bytes]] = []

    def opening(case_id: str) -> dict[str, Any]:
        obj = event("case_opened", f"e{next(ids)}", case_id, _at(draw), case_types[case_id])
        if references[case_id] is not None:
            obj["victim"] = obj["victim"] | {"reference": references[case_id]}
        return obj

    def add(kind: str, obj: dict[str, Any]) -> None:
        objects.append(obj)
        lines.append((kind, encode(obj)))

    add("open", opening(unopened.pop(0)))
    for _ in range(draw(st.integers(2, 20))):
        kind = draw(st.sampled_from(KINDS))
        case_id = draw(st.sampled_from(CASES))
        event_id = f"e{next(ids)}"
        name = draw(st.sampled_from(EVENT_TEMPLATES))
        if kind == "open" and unopened:
            add(kind, opening(unopened.pop(0)))
        elif kind == "reopen":
            add(kind, opening(case_id))
        elif kind == "review":
            add(kind, draw(review_event(event_id, case_id)))
        elif kind == "unknown_case":
            add(kind, event(name, event_id, "NO-SUCH-CASE", _at(draw)))
        elif kind == "other_policy":
            policy_event = draw(st.sampled_from(["sla_paused", "sla_excluded", "breach_explained"]))
            wrong = OTHER_TYPE[case_types[case_id]]
            add(kind, event(policy_event, event_id, case_id, _at(draw), wrong))
        elif kind == "repeat":
            lines.append((kind, encode(draw(st.sampled_from(objects)))))
        elif kind == "conflict":
            add(kind, draw(st.sampled_from(objects)) | {"x_note": "changed"})
        elif kind == "broken":
            obj = event(name, event_id, case_id, _at(draw), case_types[case_id])
            broken = draw(broken_event(name, obj, missing=required(name)))
            lines.append((f"broken:{broken.kind}", broken.raw))
        else:
            add("event", event(name, event_id, case_id, _at(draw), case_types[case_id]))
    return lines


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(stream=streams())
@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # a megabyte-long line
def test_one_event_at_a_time_leaves_what_one_line_imports_leave(
    config: Config, twin_databases: Callable[[], tuple[str, str]], stream: list[tuple[str, bytes]]
) -> None:
    """Each line gets the same summary both ways, and every table ends the same."""
    twins = Twins(config, *twin_databases())
    try:
        for kind, raw in stream:
            recorded, imported = twins.write(raw)
            hypothesis.event(f"{kind}: {'refused' if imported.rejected else 'applied'}")
            assert recorded == imported, (kind, raw[:300])
        recorded_rows, imported_rows = twins.rows()
        assert recorded_rows == imported_rows
    finally:
        twins.close()


# -- each refusal, named ---------------------------------------------------------------


def _review(event_type: str, event_id: str, case_id: str, at: str, **fields: Any) -> bytes:
    return encode({"event_id": event_id, "type": event_type, "case_id": case_id, "at": at} | fields)


AT1, AT2, AT3 = (
    "2024-03-01T09:00:00+00:00",
    "2024-03-02T09:00:00+00:00",
    "2024-03-03T09:00:00+00:00",
)
SETUP: Final = [
    encode(event("case_opened", "a-open", "A", AT1, "asb")),
    encode(event("case_opened", "d-open", "D", AT1, "domestic_abuse")),
    _review("case_review_requested", "a-req", "A", AT2, applicant="victim",
            complaints=_complaints(AT2, 3)),
    _review("recommendations_made", "a-recs", "A", AT2, recommendations=[
        {"id": "r1", "agency": "police", "action": "patrols", "due": "2024-06-01"}]),
]  # fmt: skip
REFUSED: Final = {
    "changed after import": (
        encode(event("case_opened", "a-open", "A", AT1, "asb") | {"team": "other"}),
        "event_id 'a-open' was imported before with different content",
    ),
    "unknown case": (
        encode(event("incident_reported", "x-1", "NOPE", AT2)),
        "case 'NOPE' is not open",
    ),
    "opened twice": (
        encode(event("case_opened", "a-again", "A", AT2, "asb")),
        "case 'A' already exists (opened by an earlier import)",
    ),
    "policy of another case type": (
        encode(event("sla_paused", "a-pause", "A", AT2, "domestic_abuse")),
        "does not apply to case 'A', which is an ASB case",
    ),
    "threshold met, decided not met": (
        _review("threshold_decided", "a-dec", "A", AT3, met=False, reason="persistence"),
        "the threshold is met, so the decision must be 'met'",
    ),
    "decision before any application": (
        _review("threshold_decided", "a-early", "A", AT1, met=True, reason="persistence"),
        "a threshold decision needs an application first",
    ),
    "recommendation id reused": (
        _review("recommendations_made", "a-recs-2", "A", AT3, recommendations=[
            {"id": "r1", "agency": "council", "action": "x", "due": "2024-06-01"}]),
        "recommendation id 'r1' is already used on case 'A' (by event 'a-recs')",
    ),
    "unknown recommendation": (
        _review("recommendation_completed", "a-done", "A", AT3, id="r9"),
        "case 'A' has no recommendation 'r9'",
    ),
    "case review of a domestic abuse case": (
        _review("case_review_held", "d-held", "D", AT2),
        "case 'D' is a domestic abuse case",
    ),
    "invalid alone": (
        encode(event("incident_reported", "a-bad", "A", "2024-03-02T09:00:00")),
        "'at' '2024-03-02T09:00:00' has no UTC offset",
    ),
    "not JSON": (b'{"event_id": "a-cut", "type"', "the line is not valid JSON"),
}  # fmt: skip


@pytest.mark.parametrize("refusal", sorted(REFUSED))
def test_a_refused_line_gets_the_same_problems_both_ways(
    config: Config, twin_databases: Callable[[], tuple[str, str]], refusal: str
) -> None:
    """Each refusal, alone or across lines, is worded and placed as the import does it."""
    twins = Twins(config, *twin_databases())
    try:
        for raw in SETUP:
            recorded, imported = twins.write(raw)
            assert recorded == imported
            assert imported.applied == 1, imported
        raw, words = REFUSED[refusal]
        recorded, imported = twins.write(raw)
        assert recorded == imported
        assert imported.rejected == 1
        assert words in imported.errors[0].error
        recorded_rows, imported_rows = twins.rows()
        assert recorded_rows == imported_rows
    finally:
        twins.close()


def test_a_repeat_is_a_duplicate_both_ways(
    config: Config, twin_databases: Callable[[], tuple[str, str]]
) -> None:
    """An exact repeat is counted, not applied, and recorded as its own import both ways."""
    twins = Twins(config, *twin_databases())
    try:
        for raw in [*SETUP, SETUP[0]]:
            recorded, imported = twins.write(raw)
            assert recorded == imported
        assert imported == ImportSummary(read=1, applied=0, duplicates=1, rejected=0, errors=())
        recorded_rows, imported_rows = twins.rows()
        assert recorded_rows == imported_rows
        assert len(recorded_rows["imports"]) == len(SETUP) + 1
    finally:
        twins.close()
