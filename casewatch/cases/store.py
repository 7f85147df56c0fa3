"""Reading a case's event log and writing its projection.

The only module in cases/ that queries the event and case tables; everything here takes
a Connection inside a transaction the caller owns.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast

from attrs import frozen
from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from casewatch.cases.db import is_sqlite, upsert_insert
from casewatch.cases.events import CaseOpened, Event
from casewatch.cases.state import CaseState, LinkedEvent, fold
from casewatch.cases.tables import CaseRow, EventRow, LinkSecretRow, PersonalDataRow
from casewatch.cases.validation import decode_event

EFFECT_ORDER = (EventRow.at, EventRow.import_id, EventRow.line)


@frozen
class StoredEvent:
    """An event as read back: the typed event and the payload shown in a timeline."""

    event: Event
    payload: Mapping[str, Any]


@frozen
class EventRecord:
    """An event's stored row, as read with its case's history when the reader asks: its
    payload (a timeline shows it) and its place in effect order (the measure facts)."""

    type: str
    at: datetime
    import_id: int
    line: int
    payload: Mapping[str, Any]
    derived: str | None


@frozen
class CaseHistory:
    """A case's events in effect order: what every projection is folded from.

    `version` is the projection's version when the events were read (None: no row yet);
    `records`: the events' rows, in the same order, when the reader asked for them (a
    write that answers with the case's timeline), else empty.
    """

    case_id: str
    events: Sequence[Event]
    version: int | None = None
    records: Sequence[EventRecord] = ()

    @property
    def victim_link(self) -> str | None:
        """The victim link its opening carries: what its fold, and so its row, holds."""
        for event in self.events:
            if isinstance(event, CaseOpened):
                return event.victim_link
        return None


class Projector(Protocol):
    """Rebuilds one kind of derived data for the cases whose events just changed."""

    def project(self, conn: Connection, histories: Sequence[CaseHistory]) -> None: ...


class ConcurrentUpdateError(RuntimeError):
    """Another writer kept changing the same case; the caller should try again."""


def lock_cases(conn: Connection, case_ids: Sequence[str]) -> dict[str, int]:
    """Lock existing cases before reading their events to re-derive them; their versions
    as read under the lock (PostgreSQL).

    Every writer of a case's derived state (an import, an API post, `rules repair`) locks
    its row before reading its events, so the last to lock sees every other writer's
    events whole, and the case row, its cycles and its flags are all derived from the
    same events. Without it, a writer that lost the race re-read the events for the case
    row but derived cycles and flags from the events it had read before the other writer
    committed. Locks are taken in case order, as the projection's updates are, so no new
    deadlock. SQLite needs nothing: BEGIN IMMEDIATE already holds the write lock."""
    if not case_ids or is_sqlite(conn):
        return {}
    return dict(
        conn.execute(
            select(CaseRow.case_id, CaseRow.version)
            .where(CaseRow.case_id.in_(case_ids))
            .order_by(CaseRow.case_id)
            # FOR NO KEY UPDATE, the lock an UPDATE takes: writers queue, but inserts that
            # refer to the case (the scan's alerts) do not, or they deadlock with it.
            .with_for_update(key_share=True)
        ).all()
    )


def reproject(
    conn: Connection,
    versions: Mapping[str, int | None],
    new_links: Iterable[str],
    projectors: Sequence[Projector],
    stored_links: Mapping[str, str] | None = None,
    *,
    records: bool = False,
) -> None:
    """Re-derive these cases from their events, once new events are appended.

    `versions`: each case's projection version as read (None: no row yet); `new_links`:
    the victim links of the cases being opened, not stored yet; `stored_links`: the
    cases' stored links, if the caller has read them with their versions. The same
    victim's other cases are locked with these in one ordered lock, since the projectors
    re-derive them too, so two writers never take them in opposite orders. `records`:
    the histories carry their events' rows too (see CaseHistory)."""
    versions = dict(versions)
    linked = cases_sharing_links(conn, list(versions), new_links, stored_links)
    locked = lock_cases(conn, sorted([c for c, v in versions.items() if v is not None] + linked))
    versions.update({c: v for c, v in locked.items() if c in versions})
    histories = load_histories(conn, list(versions), versions, records=records)
    for projector in projectors:
        projector.project(conn, histories)


_CASE_EVENTS: Final = (
    select(EventRow.payload, EventRow.derived)
    .where(EventRow.case_id == bindparam("case_id"))
    .order_by(*EFFECT_ORDER)
)  # built once: every case view runs it, and building costs more CPU than running
_CASE_EVENTS_AS_OF: Final = _CASE_EVENTS.where(EventRow.at <= bindparam("as_of"))


def load_case_events(
    conn: Connection, case_id: str, as_of: datetime | None = None
) -> list[StoredEvent]:
    """A case's events in effect order, optionally only those at or before `as_of`."""
    if as_of is None:
        rows = conn.execute(_CASE_EVENTS, {"case_id": case_id})
    else:
        rows = conn.execute(_CASE_EVENTS_AS_OF, {"case_id": case_id, "as_of": as_of})
    stored = []
    for payload_text, derived_text in rows:
        payload = json.loads(payload_text)
        stored.append(StoredEvent(event=_decode(payload, derived_text), payload=payload))
    return stored


Decoder = Callable[[Mapping[str, Any], str | None], Event]


def load_histories(
    conn: Connection,
    case_ids: Sequence[str],
    versions: Mapping[str, int | None] | None = None,
    decode: Decoder | None = None,
    *,
    records: bool = False,
) -> list[CaseHistory]:
    """Every event of the given cases, grouped per case in effect order, with the
    projection version read now (or as given by a caller that already knows it).

    `decode` builds each event from its stored payload and derived facts (default: as
    they were accepted; a what-if re-scores them under proposed matrices); `records`:
    keep each event's row beside it (CaseHistory.records)."""
    decode = decode or _decode
    if versions is None:
        versions = dict(
            conn.execute(
                select(CaseRow.case_id, CaseRow.version).where(CaseRow.case_id.in_(case_ids))
            ).all()
        )
    columns: list[Any] = [EventRow.case_id, EventRow.payload, EventRow.derived]
    if records:
        columns += [EventRow.type, EventRow.at, EventRow.import_id, EventRow.line]
    query = (
        select(*columns)
        .where(EventRow.case_id.in_(case_ids))
        .order_by(EventRow.case_id, *EFFECT_ORDER)
    )
    histories: list[CaseHistory] = []
    current: str | None = None
    events: list[Event] = []
    kept: list[EventRecord] = []
    row: Any
    for row in conn.execute(query):
        case_id, payload_text, derived_text = row[0], row[1], row[2]
        if case_id != current:
            if current is not None:
                histories.append(CaseHistory(current, events, versions.get(current), kept))
            current, events, kept = case_id, [], []
        payload = json.loads(payload_text)
        events.append(decode(payload, derived_text))
        if records:
            kept.append(EventRecord(row[3], row[4], row[5], row[6], payload, derived_text))
    if current is not None:
        histories.append(CaseHistory(current, events, versions.get(current), kept))
    return histories


# -- victims linked across cases ------------------------------------------------------

LINKED_TYPES = ("incident_reported", "referral_made")  # what counts across linked cases


def victim_link_secret(conn: Connection) -> bytes:
    """This deployment's key for victim links, made on first use. Two writers making it
    at once both insert; the second's is dropped and both read the first's."""
    row = conn.execute(select(LinkSecretRow.secret).where(LinkSecretRow.id == 1)).first()
    if row is None:
        conn.execute(
            upsert_insert(conn, LinkSecretRow)
            .values(id=1, secret=secrets.token_hex(32), created_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = conn.execute(select(LinkSecretRow.secret).where(LinkSecretRow.id == 1)).one()
    return bytes.fromhex(row.secret)


def victim_links(conn: Connection, case_ids: Sequence[str]) -> dict[str, str]:
    """The victim link of each of these cases that has one."""
    links: dict[str, str] = {}
    for chunk in _chunks(case_ids):
        rows = conn.execute(
            select(CaseRow.case_id, CaseRow.victim_link).where(
                CaseRow.case_id.in_(chunk), CaseRow.victim_link.is_not(None)
            )
        )
        # `link is not None` is the query's own condition; it tells the type checker.
        links.update({case_id: link for case_id, link in rows if link is not None})
    return links


def linked_cases(
    conn: Connection, case_ids: Sequence[str], links: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """For each of these cases with a victim link, the other cases sharing it. `links`:
    these cases' links, when the caller knows them (their histories hold them)."""
    if links is None:
        links = victim_links(conn, case_ids)
    if not links:
        return {}
    members = _link_members(conn, set(links.values()))
    return {
        case_id: [c for c, _ in members[link] if c != case_id] for case_id, link in links.items()
    }


def cases_sharing_links(
    conn: Connection,
    case_ids: Sequence[str],
    links: Iterable[str] = (),
    stored: Mapping[str, str] | None = None,
) -> list[str]:
    """The stored cases, other than these, sharing a victim link with one of them (their
    stored links, and `links` of cases not stored yet): a writer locks them with its own
    cases, in one ordered lock, since it re-derives them too. `stored`: these cases'
    stored links, when the caller has just read them."""
    if stored is None:
        stored = victim_links(conn, case_ids)
    wanted = set(stored.values()) | set(links)
    if not wanted:
        return []
    members = _link_members(conn, wanted)
    return sorted({c for pairs in members.values() for c, _ in pairs} - set(case_ids))


def load_linked_events(
    conn: Connection,
    case_ids: Sequence[str],
    as_of: datetime | None = None,
    links: Mapping[str, str] | None = None,
) -> dict[str, tuple[LinkedEvent, ...]]:
    """For each of these cases, the incidents and referrals of the cases linked to it (the
    same victim's), in effect order, optionally only those at or before `as_of`: what
    derivation counts across linked cases. Empty for a case without a victim link.
    `links`: these cases' links, when the caller knows them."""
    if links is None:
        links = victim_links(conn, case_ids)
    if not links:
        return {}
    members = _link_members(conn, set(links.values()))
    case_type = {c: t for pairs in members.values() for c, t in pairs}
    link_of = {c: link for link, pairs in members.items() for c, _ in pairs}
    per_link: dict[str, list[tuple[Any, LinkedEvent]]] = defaultdict(list)
    for chunk in _chunks(list(case_type)):
        query = (
            select(
                EventRow.case_id,
                EventRow.payload,
                EventRow.derived,
                EventRow.import_id,
                EventRow.line,
            )
            .where(EventRow.case_id.in_(chunk), EventRow.type.in_(LINKED_TYPES))
            .order_by(*EFFECT_ORDER)
        )
        if as_of is not None:
            query = query.where(EventRow.at <= as_of)
        for case_id, payload_text, derived_text, import_id, line in conn.execute(query):
            event = _decode(json.loads(payload_text), derived_text)
            order = (event.at, import_id, line)  # effect order, across the cases
            per_link[link_of[case_id]].append((order, LinkedEvent(event, case_type[case_id])))
    for events in per_link.values():
        events.sort(key=lambda item: item[0])
    return {
        case_id: tuple(e for _, e in per_link[link] if e.event.case_id != case_id)
        for case_id, link in links.items()
    }


def _link_members(conn: Connection, links: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Each link's cases with their types, in case order."""
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(links)):
        for case_id, link, case_type in conn.execute(
            select(CaseRow.case_id, CaseRow.victim_link, CaseRow.case_type)
            .where(CaseRow.victim_link.in_(chunk))
            .order_by(CaseRow.case_id)
        ):
            if link is not None:
                members[link].append((case_id, case_type or ""))
    return members


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decode(payload: Mapping[str, Any], derived_text: str | None) -> Event:
    return decode_event(payload, json.loads(derived_text) if derived_text else None)


def case_exists(conn: Connection, case_id: str) -> bool:
    return (
        conn.execute(select(CaseRow.case_id).where(CaseRow.case_id == case_id)).first() is not None
    )


def iter_case_rows(
    conn: Connection, *, team: str | None = None, status: str | None = None
) -> Iterator[CaseRow]:
    query = select(CaseRow).order_by(CaseRow.case_id)
    if team is not None:
        query = query.where(CaseRow.team == team)
    if status is not None:
        query = query.where(CaseRow.status == status)
    for row in conn.execute(query).mappings():
        yield CaseRow(**row)


class CaseProjector:
    """Keeps the `cases` table equal to the fold of each case's events.

    Writes are guarded by the row's version: if another transaction changed the case in
    between (PostgreSQL, READ COMMITTED), the case is re-read and re-folded — its newly
    committed events are then visible — instead of overwriting them.
    """

    max_attempts = 5

    def project(self, conn: Connection, histories: Sequence[CaseHistory]) -> None:
        self.write_states(conn, histories)

    def write_states(
        self,
        conn: Connection,
        histories: Sequence[CaseHistory],
        states: Mapping[str, CaseState] | None = None,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, CaseHistory]:
        """Write each case's row from its fold, or from `states` when the caller has
        folded the histories already (a derivation folds on its way), with the caller's
        other `columns` of the row derived from the same events, by case. Returns the
        histories re-read after a conflict, by case: their folds replaced the given ones,
        and their rows were written without the given columns."""
        pending = list(histories)
        reread: dict[str, CaseHistory] = {}
        for _attempt in range(self.max_attempts):
            conflicts = self._write(conn, pending, states or {}, columns or {})
            if not conflicts:
                return reread
            pending = load_histories(conn, conflicts)
            reread.update((h.case_id, h) for h in pending)
            states = columns = None
        raise ConcurrentUpdateError(
            f"{len(pending)} case(s) kept changing under this import; run it again"
        )

    def _write(
        self,
        conn: Connection,
        histories: Sequence[CaseHistory],
        states: Mapping[str, CaseState],
        columns: Mapping[str, Mapping[str, Any]],
    ) -> list[str]:
        now = datetime.now(UTC)
        inserts, conflicts = [], []
        for history in histories:
            state = states.get(history.case_id) or fold(history.case_id, history.events)
            row = {**case_projection(state, now), **columns.get(history.case_id, {})}
            if history.version is None:
                inserts.append({**row, "version": 1})
                continue
            where = {"row_case_id": history.case_id, "row_version": history.version}
            result = conn.execute(_ROW_UPDATE, {**row, "version": history.version + 1, **where})
            if result.rowcount != 1:
                conflicts.append(history.case_id)
        if inserts:
            conn.execute(insert(CaseRow), inserts)
        return conflicts


# One statement object for every row write, its SET clause from the parameters given: the
# ORM's update path and a new statement's cache key cost more than the round trip here.
_CASES: Final = cast(Table, CaseRow.__table__)
_ROW_UPDATE: Final = update(_CASES).where(
    _CASES.c.case_id == bindparam("row_case_id"), _CASES.c.version == bindparam("row_version")
)


def case_projection(state: CaseState, now: datetime) -> dict[str, Any]:
    """The `cases` row for a folded state (what `casewatch check` compares it with)."""
    risk = state.risk
    return {
        "case_id": state.case_id,
        "case_type": state.case_type,
        "team": state.team,
        "caseworker": state.caseworker,
        "victim_link": state.victim_link,
        "status": state.status,
        "opened_at": state.opened_at,
        "closed_at": state.closed_at,
        "risk_level": risk.level if risk else None,
        "risk_matrix": risk.matrix if risk else None,
        "risk_score": risk.score if risk else None,
        "incident_count": len(state.incidents),
        "event_count": state.event_count,
        "last_event_at": state.last_event_at,
        "updated_at": now,
    }


@frozen
class HeldPersonalData:
    """A closed case whose victim's personal data has not been erased."""

    case_id: str
    case_type: str
    closed_at: datetime
    records: int


def closed_cases_holding_personal_data(
    conn: Connection, case_type: str, closed_by: datetime
) -> list[HeldPersonalData]:
    """Closed cases of a type, closed at or before `closed_by`, with personal data left."""
    query = (
        select(CaseRow.case_id, CaseRow.closed_at, func.count(PersonalDataRow.event_id))
        .join(PersonalDataRow, PersonalDataRow.case_id == CaseRow.case_id)
        .where(
            CaseRow.case_type == case_type,
            CaseRow.status == "closed",
            CaseRow.closed_at <= closed_by,
            PersonalDataRow.erased_at.is_(None),
        )
        .group_by(CaseRow.case_id, CaseRow.closed_at)
        .order_by(CaseRow.closed_at, CaseRow.case_id)
    )
    return [
        HeldPersonalData(case_id, case_type, closed_at, records)
        for case_id, closed_at, records in conn.execute(query)
        if closed_at is not None  # the query's own condition; this tells the type checker
    ]


def erase_personal_data(conn: Connection, case_id: str, now: datetime) -> int:
    """Remove the victim's personal data of a case; the events (the facts) stay, so its
    SLA cycles, flags and every report come out the same. Returns the rows erased now."""
    result = conn.execute(
        update(PersonalDataRow)
        .where(PersonalDataRow.case_id == case_id, PersonalDataRow.erased_at.is_(None))
        .values(data=None, erased_at=now)
    )
    return int(result.rowcount or 0)
