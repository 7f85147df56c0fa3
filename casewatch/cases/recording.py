"""One event at a time: the write path of the HTTP API and the pages.

A posted event is one line, checked and applied exactly as a one-line `casewatch import`
would be — the same validator, the same cross-line checks in the same order and words
(cases.lines), the same projectors, the caller's `then` in the same transaction, and
the same errors for a caller to retry on (`ConcurrentUpdateError`, `IntegrityError`) —
but the checks are direct lookups by event id and case id on the tables' own indexes,
not set SQL over a staging table created and dropped for the one row.

It records an `imports` row for each accepted post, as the one-line import did, a
duplicate included (`read` 1, `applied` 0): `events.import_id` must name one, and effect
order is `(at, import_id, line)`, so an event posted now must take the next import id
(with line 1) for ties at the same instant to order exactly as they did — after every
earlier post or file import, before every later one. The same rows, in the same
sequence, leave every table as the import left it, apart from the wall-clock columns
written at the time (`imports.recorded_at`, `cases.updated_at` and the like).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from attrs import frozen
from sqlalchemy import ColumnElement, Connection, Engine, insert, select

from casewatch.cases.events import CASE_REVIEW_TYPES
from casewatch.cases.importing import (
    ImportSummary,
    case_review_rejections,
    record_import,
    rejected_summary,
)
from casewatch.cases.lines import (
    already_exists,
    changed_after_import,
    not_open,
    parse_line,
    policy_of_another_type,
    validate_value,
)
from casewatch.cases.problems import Problem
from casewatch.cases.store import Projector, reproject, victim_link_secret
from casewatch.cases.tables import CaseRow, EventRow, LinkSecretRow, PersonalDataRow
from casewatch.cases.validation import EventValidator, ValidEvent

LINE = 1  # a posted event is the first and only line of its import


class Recorder:
    """Applies one event, posted alone, as a one-line import would."""

    def __init__(
        self, engine: Engine, validator: EventValidator, projectors: Sequence[Projector]
    ) -> None:
        self.engine = engine
        self.validator = validator
        self.projectors = projectors

    def record(
        self,
        line: bytes,
        source: str,
        then: Callable[[Connection, ImportSummary], None] | None = None,
    ) -> ImportSummary:
        """`line`: the event's JSON text. `then` runs inside the transaction once the
        event has applied (the HTTP service writes its audit row there)."""
        if not line.strip():
            raise ValueError("a blank line holds no event to record")
        # Read and validated before the transaction: a refused line never waits for the
        # write lock. Its problems do not depend on the deployment's link secret, which
        # only keys the victim link derived from a valid opening.
        parsed = parse_line(line)
        alone = parsed if parsed.problems else validate_value(self.validator, parsed.value)
        if alone.valid is None:
            return rejected_summary(1, 0, {LINE: alone.problems}, {LINE: alone.event_id})
        with self.engine.connect() as conn, conn.begin() as transaction:
            found = _lookup(conn, alone.valid.event.event_id, alone.valid.event.case_id)
            secret = (
                bytes.fromhex(found.secret)
                if found.secret is not None
                else victim_link_secret(conn)  # made on first use
            )
            valid = self.validator.with_link_secret(secret).validate(parsed.value)
            duplicate, problems = _check(conn, valid, self.validator, found)
            if problems:
                transaction.rollback()
                return rejected_summary(
                    1, int(duplicate), {LINE: problems}, {LINE: valid.event.event_id}
                )
            applied = 0 if duplicate else 1
            import_id = record_import(
                conn, source, read=1, applied=applied, duplicates=int(duplicate)
            )
            if not duplicate:
                _append(conn, valid, import_id)
                case_id = valid.event.case_id
                reproject(
                    conn,
                    {case_id: found.version},
                    _new_links(valid),
                    self.projectors,
                    stored_links={case_id: found.victim_link} if found.victim_link else {},
                    records=True,  # one case's, kept for the projectors and the answer
                )
            summary = ImportSummary(
                read=1, applied=applied, duplicates=int(duplicate), rejected=0, errors=()
            )
            if then is not None:
                then(conn, summary)
        return summary


@frozen
class _Found:
    """What the checks and the projection need to know of the database, read at once."""

    secret: str | None  # this deployment's key for victim links (None: not made yet)
    stored_hash: str | None  # the content hash of a stored event with the same id
    case_type: str | None
    version: int | None  # the case's projection version (None: no such case)
    victim_link: str | None


def _lookup(conn: Connection, event_id: str, case_id: str) -> _Found:
    """One round trip of primary-key and unique-index lookups."""

    def one(column: Any, where: ColumnElement[bool]) -> Any:
        return select(column).where(where).scalar_subquery()

    case = CaseRow.case_id == case_id
    row = conn.execute(
        select(
            one(LinkSecretRow.secret, LinkSecretRow.id == 1),
            one(EventRow.content_hash, EventRow.event_id == event_id),
            one(CaseRow.case_type, case),
            one(CaseRow.version, case),
            one(CaseRow.victim_link, case),
        )
    ).one()
    return _Found(*row)


def _check(
    conn: Connection, valid: ValidEvent, validator: EventValidator, found: _Found
) -> tuple[bool, list[Problem]]:
    """The import's cross-line checks for a line alone in its file, in the import's
    order: whether the line repeats a stored event exactly, and every problem found.
    `found`: what `_lookup` read for it."""
    stored_hash, exists, case_type = found.stored_hash, found.version is not None, found.case_type
    event = valid.event
    problems: list[Problem] = []
    duplicate = stored_hash == valid.content_hash
    if stored_hash is not None and not duplicate:
        problems.append(changed_after_import(event.event_id))
    opening = event.TYPE == "case_opened"
    if not opening and not exists:
        problems.append(not_open(event.case_id))
    if opening and not duplicate and exists:
        problems.append(already_exists(event.case_id))
    policy = valid.policy
    if (
        policy is not None
        and case_type is not None
        and case_type not in validator.policies.get(policy, frozenset())
    ):
        problems.append(policy_of_another_type(policy, event.case_id, case_type))
    if not duplicate and event.TYPE in CASE_REVIEW_TYPES:
        review = case_review_rejections(
            conn,
            {event.case_id: [(LINE, event)]},
            {event.case_id: case_type},
            validator.case_review,
        )
        problems += [problem for _, _, problem in review]
    return duplicate, problems


def _append(conn: Connection, valid: ValidEvent, import_id: int) -> None:
    event = valid.event
    conn.execute(
        insert(EventRow).values(
            event_id=event.event_id,
            case_id=event.case_id,
            type=event.TYPE,
            at=event.at,
            import_id=import_id,
            line=LINE,
            payload=valid.payload,
            derived=valid.derived,
            content_hash=valid.content_hash,
        )
    )
    if valid.personal is not None:
        conn.execute(
            insert(PersonalDataRow).values(
                event_id=event.event_id, case_id=event.case_id, data=valid.personal
            )
        )


def _new_links(valid: ValidEvent) -> list[str]:
    """The victim link of a case this event opens (the import's `_staged_links`)."""
    if valid.event.TYPE != "case_opened" or valid.derived is None:
        return []
    link = json.loads(valid.derived).get("victim_link")
    return [link] if link else []
