"""`casewatch import`: validate a JSONL file and apply it atomically.

The file is streamed line by line into a temporary staging table, so memory stays flat
whatever its size. Checks that need more than one line (duplicate ids, unknown cases,
double openings, a policy's case type) are then set-based SQL over the staged rows. Only
if no line is rejected are the events appended and the affected cases re-projected, all
in the one transaction: a file is applied whole or not at all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Final

from attrs import frozen
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import aliased

from casewatch.cases.case_review import CaseReviewSettings, ReviewEvent, review_problems
from casewatch.cases.db import UTCDateTime, is_sqlite
from casewatch.cases.events import CASE_REVIEW_TYPES, Event
from casewatch.cases.import_reading import read_lines
from casewatch.cases.lines import (
    already_exists,
    changed_after_import,
    not_open,
    policy_of_another_type,
)
from casewatch.cases.problems import Problem, sentences
from casewatch.cases.store import Projector, reproject, victim_link_secret
from casewatch.cases.tables import CaseRow, EventRow, ImportBatch, PersonalDataRow
from casewatch.cases.validation import EventValidator, decode_event

STAGE_BATCH: Final = 2_000
PROJECT_BATCH: Final = 500
ANALYZE_AFTER: Final = 10_000

_staging_metadata = MetaData()
staging = Table(
    "casewatch_import_staging",
    _staging_metadata,
    Column("line", Integer, primary_key=True),
    Column("event_id", String(200), index=True),
    Column("case_id", String(200), index=True),
    Column("type", String(40)),
    Column("valid", Boolean, nullable=False),
    Column("duplicate", Boolean, nullable=False, default=False),
    Column("at", UTCDateTime()),
    Column("case_type", String(40)),
    Column("policy", String(200)),
    Column("payload", Text),
    Column("derived", Text),
    Column("personal", Text),
    Column("content_hash", String(64)),
    prefixes=["TEMPORARY"],
)
affected = Table(
    "casewatch_import_cases",
    _staging_metadata,
    Column("case_id", String(200), primary_key=True),
    Column("version", Integer),
    prefixes=["TEMPORARY"],
)


@frozen
class LineError:
    line: int
    event_id: str | None
    error: str  # every problem of the line, in one sentence for the JSON summary
    problems: tuple[Problem, ...] = ()  # the same, one by one, each naming its field


@frozen
class ImportSummary:
    read: int
    applied: int
    duplicates: int
    rejected: int
    errors: Sequence[LineError]

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [
                {"line": e.line, "event_id": e.event_id, "error": e.error} for e in self.errors
            ],
        }


Progress = Callable[[str, int], None]  # (phase, count so far)


def _no_progress(_phase: str, _count: int) -> None:
    return None


class Importer:
    """Applies JSONL event files to the database, whole or not at all."""

    def __init__(
        self,
        engine: Engine,
        validator: EventValidator,
        projectors: Sequence[Projector],
        progress: Progress = _no_progress,
        workers: int = 1,
    ) -> None:
        """`workers`: processes to read a large file's lines in, beside this one's writes
        (1: read them here)."""
        self.engine = engine
        self.validator = validator
        self.projectors = projectors
        self.progress = progress
        self.workers = workers

    def run(
        self,
        lines: Iterable[bytes],
        source: str,
        then: Callable[[Connection, ImportSummary], None] | None = None,
    ) -> ImportSummary:
        """`then` runs inside the import's transaction once it has applied (the HTTP
        service writes its audit row there), so both commit or neither does."""
        with self.engine.connect() as conn, conn.begin() as transaction:
            # Victim references become link keys under this deployment's secret.
            self.validator = self.validator.with_link_secret(victim_link_secret(conn))
            staging.create(conn)
            errors: dict[int, list[Problem]] = defaultdict(list)
            event_ids: dict[int, str | None] = {}
            read = self._stage(conn, lines, errors, event_ids)
            self._check_across_lines(conn, errors, event_ids)
            duplicates = conn.execute(select(func.count()).where(staging.c.duplicate)).scalar_one()
            if errors:
                transaction.rollback()
                return rejected_summary(read, duplicates, errors, event_ids)
            applied = self._append(conn, read, duplicates, source)
            self._project(conn)
            if applied >= ANALYZE_AFTER:
                analyze_projections(conn)
            staging.drop(conn)
            summary = ImportSummary(
                read=read, applied=applied, duplicates=duplicates, rejected=0, errors=()
            )
            if then is not None:
                then(conn, summary)
        return summary

    # -- stage: one pass over the file ------------------------------------------------

    def _stage(
        self,
        conn: Connection,
        lines: Iterable[bytes],
        errors: dict[int, list[Problem]],
        event_ids: dict[int, str | None],
    ) -> int:
        read = 0
        batch: list[dict[str, Any]] = []
        for staged in read_lines(self.validator, lines, self.workers):
            read += 1
            if staged.refused:
                errors[staged.number].extend(staged.problems)
                event_ids[staged.number] = staged.event_id
            if staged.row is not None:
                batch.append(staged.row)
            if len(batch) >= STAGE_BATCH:
                _stage_batch(conn, batch)
                batch.clear()
                self.progress("read", read)
        if batch:
            _stage_batch(conn, batch)
        self.progress("read", read)
        # Temporary tables are never auto-analysed; without statistics PostgreSQL plans
        # the cross-line checks as nested loops over the whole file. A file of a few lines
        # (an event posted to the HTTP API) is small enough to scan, statistics or not.
        if read >= STAGE_BATCH:
            conn.exec_driver_sql(f"ANALYZE {staging.name}")
        return read

    # -- checks that need the whole file and the database -----------------------------

    def _check_across_lines(
        self, conn: Connection, errors: dict[int, list[Problem]], event_ids: dict[int, str | None]
    ) -> None:
        """Run the set-based checks in order: repeated ids first, because they mark the
        duplicates the opening checks must ignore."""
        checks: list[Callable[[], list[Rejection]]] = [
            lambda: _ids_already_imported(conn),
            lambda: _ids_repeated_in_file(conn),
            lambda: _cases_never_opened(conn),
            lambda: _cases_opened_twice(conn),
            lambda: _policies_of_another_case_type(conn, self.validator.policies),
            lambda: _case_review_problems(conn, self.validator.case_review),
        ]
        for check in checks:
            for line, event_id, problem in check():
                errors[line].append(problem)
                event_ids.setdefault(line, event_id)

    # -- apply ------------------------------------------------------------------------

    def _append(self, conn: Connection, read: int, duplicates: int, source: str) -> int:
        s = staging.c
        fresh = and_(s.valid, ~s.duplicate)
        applied: int = conn.execute(select(func.count()).where(fresh)).scalar_one()
        import_id = record_import(conn, source, read=read, applied=applied, duplicates=duplicates)
        conn.execute(
            insert(EventRow).from_select(
                [
                    "event_id",
                    "case_id",
                    "type",
                    "at",
                    "import_id",
                    "line",
                    "payload",
                    "derived",
                    "content_hash",
                ],
                select(
                    s.event_id,
                    s.case_id,
                    s.type,
                    s.at,
                    literal(import_id),
                    s.line,
                    s.payload,
                    s.derived,
                    s.content_hash,
                )
                .where(fresh)
                .order_by(s.line),
            )
        )
        conn.execute(
            insert(PersonalDataRow).from_select(
                ["event_id", "case_id", "data"],
                select(s.event_id, s.case_id, s.personal).where(fresh, s.personal.is_not(None)),
            )
        )
        self.progress("applied", applied)
        if applied >= ANALYZE_AFTER:
            # A large append leaves the planner's statistics describing the old table; the
            # per-case reads of the projection phase would otherwise be planned as scans.
            conn.exec_driver_sql(f"ANALYZE {EventRow.__tablename__}")
        return applied

    def _project(self, conn: Connection) -> None:
        # One join reads every affected case's projection version up front: per-batch
        # lookups in `cases` were planned from statistics that predate this import (a
        # second per batch at 1M events on PostgreSQL).
        s = staging.c
        affected.create(conn)
        conn.execute(
            insert(affected).from_select(
                ["case_id", "version"],
                select(s.case_id, CaseRow.version)
                .outerjoin(CaseRow, CaseRow.case_id == s.case_id)
                .where(s.valid, ~s.duplicate)
                .distinct(),
            )
        )
        last: str | None = None
        done = 0
        while True:
            query = select(affected.c.case_id, affected.c.version).order_by(affected.c.case_id)
            if last is not None:
                query = query.where(affected.c.case_id > last)
            batch = conn.execute(query.limit(PROJECT_BATCH)).all()
            if not batch:
                break
            versions = {row.case_id: row.version for row in batch}
            reproject(conn, versions, _staged_links(conn, versions), self.projectors)
            last = batch[-1].case_id
            done += len(batch)
            self.progress("cases", done)
        affected.drop(conn)


def analyze_projections(conn: Connection) -> None:
    """After a large import, fresh planner statistics for every table kept per case (the
    case rows, cycles, flags, measure facts): planned from the empty tables a bulk load
    started with, PostgreSQL chose nested loops that kept the case list and dashboard
    query running for over 13 minutes. PostgreSQL only: its autovacuum analyses later,
    if at all before the first query; SQLite plans without statistics unless asked to."""
    if conn.dialect.name != "postgresql":
        return
    for table in CaseRow.metadata.sorted_tables:
        if "case_id" in table.c and table.name != EventRow.__tablename__:
            conn.exec_driver_sql(f"ANALYZE {table.name}")


def record_import(
    conn: Connection, source: str, *, read: int, applied: int, duplicates: int
) -> int:
    """The `imports` row of an accepted import; its id orders its events after every
    earlier import's at the same instant."""
    return int(
        conn.execute(
            insert(ImportBatch)
            .values(
                source=source[:500],
                recorded_at=datetime.now(UTC),
                read=read,
                applied=applied,
                duplicates=duplicates,
            )
            .returning(ImportBatch.id)
        ).scalar_one()
    )


def _staged_links(conn: Connection, case_ids: Iterable[str]) -> list[str]:
    """The victim links of the cases this file opens among these."""
    s = staging.c
    rows = conn.execute(
        select(s.derived).where(
            s.case_id.in_(list(case_ids)),
            s.type == "case_opened",
            s.valid,
            ~s.duplicate,
            s.derived.is_not(None),
        )
    ).scalars()
    return [link for text in rows if (link := json.loads(text or "{}").get("victim_link"))]


# -- the cross-line checks: each returns (line, event id, problem) for every rejection ---

Rejection = tuple[int, str | None, Problem]


def _ids_already_imported(conn: Connection) -> list[Rejection]:
    """An id imported before: identical content is a duplicate, anything else an error."""
    s = staging.c
    imported = conn.execute(
        select(s.line, s.event_id, s.content_hash == EventRow.content_hash)
        .join(EventRow, EventRow.event_id == s.event_id)
        .where(s.valid)
    ).all()
    _mark_duplicates(conn, [line for line, _, same in imported if same])
    return [
        (line, event_id, changed_after_import(event_id))
        for line, event_id, same in imported
        if not same
    ]


def _ids_repeated_in_file(conn: Connection) -> list[Rejection]:
    """An id used earlier in this file: the same content again is a duplicate."""
    s = staging.c
    first = (
        select(s.event_id, func.min(s.line).label("first_line"))
        .where(s.event_id.is_not(None))
        .group_by(s.event_id)
        .having(func.count() > 1)
        .subquery()
    )
    original = aliased(staging)
    repeats = conn.execute(
        select(s.line, s.event_id, first.c.first_line, s.content_hash == original.c.content_hash)
        .join(first, first.c.event_id == s.event_id)
        .join(original, original.c.line == first.c.first_line)
        .where(s.line > first.c.first_line, s.valid, original.c.valid)
    ).all()
    _mark_duplicates(conn, [line for line, _, _, same in repeats if same])
    return [
        (
            line,
            event_id,
            Problem(
                "event_id",
                f"event_id '{event_id}' is already used on line {first_line} "
                "with different content",
            ),
        )
        for line, event_id, first_line, same in repeats
        if not same
    ]


def _cases_never_opened(conn: Connection) -> list[Rejection]:
    """Events for a case with no case_opened in the database or anywhere in the file (a
    rejected case_opened line still counts, so its dependents are not reported twice)."""
    s = staging.c
    opened_here = aliased(staging)
    rows = conn.execute(
        select(s.line, s.event_id, s.case_id).where(
            s.valid,
            s.type != "case_opened",
            ~exists().where(CaseRow.case_id == s.case_id),
            ~exists().where(
                and_(opened_here.c.case_id == s.case_id, opened_here.c.type == "case_opened")
            ),
        )
    )
    return [(line, event_id, not_open(case_id)) for line, event_id, case_id in rows]


def _cases_opened_twice(conn: Connection) -> list[Rejection]:
    """A second case_opened: for a case in the database, or one opened earlier in the file."""
    s = staging.c
    existing = conn.execute(
        select(s.line, s.event_id, s.case_id).where(
            s.valid,
            ~s.duplicate,
            s.type == "case_opened",
            exists().where(CaseRow.case_id == s.case_id),
        )
    )
    rejections: list[Rejection] = [
        (line, event_id, already_exists(case_id)) for line, event_id, case_id in existing
    ]
    earlier = aliased(staging)
    in_file = conn.execute(
        select(s.line, s.event_id, s.case_id, func.min(earlier.c.line))
        .join(
            earlier,
            and_(
                earlier.c.case_id == s.case_id,
                earlier.c.type == "case_opened",
                earlier.c.line < s.line,
                ~earlier.c.duplicate,
            ),
        )
        .where(s.valid, ~s.duplicate, s.type == "case_opened")
        .group_by(s.line, s.event_id, s.case_id)
    )
    rejections += [
        (
            line,
            event_id,
            Problem("case_id", f"case '{case_id}' is already opened on line {earlier_line}"),
        )
        for line, event_id, case_id, earlier_line in in_file
    ]
    return rejections


def _policies_of_another_case_type(
    conn: Connection, policies: Mapping[str, frozenset[str]]
) -> list[Rejection]:
    """SLA instructions must name a policy that applies to the case's type."""
    s = staging.c
    opener = aliased(staging)
    rows = conn.execute(
        select(
            s.line,
            s.event_id,
            s.policy,
            s.case_id,
            func.coalesce(CaseRow.case_type, opener.c.case_type),
        )
        .outerjoin(CaseRow, CaseRow.case_id == s.case_id)
        .outerjoin(
            opener,
            and_(opener.c.case_id == s.case_id, opener.c.type == "case_opened", opener.c.valid),
        )
        .where(s.valid, s.policy.is_not(None))
    )
    return [
        (line, event_id, policy_of_another_type(policy, case_id, case_type))
        for line, event_id, policy, case_id, case_type in rows
        if case_type is not None and case_type not in policies.get(policy, frozenset())
    ]


def _case_review_problems(conn: Connection, settings: CaseReviewSettings) -> list[Rejection]:
    """The ASB case review checks that need a case's other events (its type, its
    application, its recommendations), from this file and earlier imports alike, taken in
    effect order whatever order the lines come in. Only cases with a new case review event
    are read."""
    s = staging.c
    types = sorted(CASE_REVIEW_TYPES)
    fresh = and_(s.valid, ~s.duplicate, s.type.in_(types))
    case_ids = list(conn.execute(select(s.case_id).where(fresh).distinct()).scalars())
    refused_applications = set(
        conn.execute(
            select(s.case_id).where(~s.valid, s.type == "case_review_requested").distinct()
        ).scalars()
    )
    rejections: list[Rejection] = []
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        opener = aliased(staging)
        case_types: dict[str, str | None] = dict(
            conn.execute(
                select(opener.c.case_id, opener.c.case_type).where(
                    opener.c.case_id.in_(chunk), opener.c.type == "case_opened", opener.c.valid
                )
            ).all()
        )
        case_types.update(
            conn.execute(
                select(CaseRow.case_id, CaseRow.case_type).where(CaseRow.case_id.in_(chunk))
            ).all()
        )
        new: dict[str, list[tuple[int, Event]]] = defaultdict(list)
        staged = conn.execute(
            select(s.payload, s.derived, s.line).where(fresh, s.case_id.in_(chunk))
        )
        for payload, derived, line in staged:
            event = decode_event(json.loads(payload), _loaded(derived))
            new[event.case_id].append((line, event))
        rejections += case_review_rejections(conn, new, case_types, settings, refused_applications)
    return rejections


def case_review_rejections(
    conn: Connection,
    new: Mapping[str, Sequence[tuple[int, Event]]],
    case_types: Mapping[str, str | None],
    settings: CaseReviewSettings,
    refused_applications: Collection[str] = (),
) -> list[Rejection]:
    """What is wrong with new case review events (by case: each with its line), read
    with the same cases' stored case review events, all in effect order: a stored event
    before a new one at the same instant, as its import came first."""
    types = sorted(CASE_REVIEW_TYPES)
    gathered: dict[str, list[tuple[tuple[Any, ...], ReviewEvent]]] = defaultdict(list)
    stored = conn.execute(
        select(EventRow.payload, EventRow.derived, EventRow.import_id, EventRow.line).where(
            EventRow.case_id.in_(list(new)), EventRow.type.in_(types)
        )
    )
    for payload, derived, import_id, line in stored:
        event = decode_event(json.loads(payload), _loaded(derived))
        key = (event.at, 0, import_id, line)
        gathered[event.case_id].append((key, ReviewEvent(event, None)))
    for case_id, events in new.items():
        for line, event in events:
            gathered[case_id].append(((event.at, 1, 0, line), ReviewEvent(event, line)))
    rejections: list[Rejection] = []
    for case_id, items in gathered.items():
        ordered = [item for _, item in sorted(items, key=lambda pair: pair[0])]
        rejections += review_problems(
            case_id,
            case_types.get(case_id),
            ordered,
            settings,
            application_refused=case_id in refused_applications,
        )
    return rejections


def _loaded(derived: str | None) -> Any:
    return json.loads(derived) if derived is not None else None


def _mark_duplicates(conn: Connection, lines: list[int]) -> None:
    for chunk in _chunks(lines, 1_000):
        conn.execute(update(staging).where(staging.c.line.in_(chunk)).values(duplicate=True))


def _stage_batch(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append rows to the staging table: COPY on PostgreSQL (several times faster than
    batched INSERTs), executemany on SQLite (already in-process)."""
    columns = [column.name for column in staging.columns]
    if is_sqlite(conn):
        # Straight to the driver's executemany: SQLAlchemy's per-row parameter handling
        # cost more than SQLite's insert. Times go through the column type's own bind
        # processor, so they are stored exactly as an ORM insert stores them.
        to_utc = staging.c.at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        assert to_utc is not None
        statement = insert(staging).compile(dialect=conn.dialect)  # every column
        order = statement.positiontup or columns
        values = [
            tuple(to_utc(row[name]) if name == "at" else row[name] for name in order)
            for row in rows
        ]
        conn.exec_driver_sql(str(statement), values)
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {staging.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def rejected_summary(
    read: int,
    duplicates: int,
    errors: Mapping[int, Sequence[Problem]],
    event_ids: Mapping[int, str | None],
) -> ImportSummary:
    """The summary of a refused import: each refused line's problems, each said once."""
    ordered = []
    for line in sorted(errors):
        problems = _said_once(errors[line])
        ordered.append(
            LineError(
                line=line,
                event_id=event_ids.get(line),
                error=sentences(problems),
                problems=problems,
            )
        )
    return ImportSummary(
        read=read, applied=0, duplicates=duplicates, rejected=len(ordered), errors=ordered
    )


def _said_once(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    """Each sentence once, where it was first said (two checks may say the same)."""
    first: dict[str, Problem] = {}
    for problem in problems:
        first.setdefault(problem.words, problem)
    return tuple(first.values())


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
