"""The case view: one case's access scope, its victim details and the case replayed
from its events as of a moment (what `case show`, the API and the case page show)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import NoResultFound

from casewatch.cases.store import load_case_events, load_linked_events
from casewatch.cases.tables import CaseRow, PersonalDataRow
from casewatch.engine.tables import CaseRulesetRow
from casewatch.service.access import CaseScope
from casewatch.service.runtime import Runtime
from casewatch.service.tables import CaseShareRow
from casewatch.service.views import CaseView, case_view


@frozen
class CaseFacts:
    """What a view needs to know about a case before replaying it, read in one query:
    who may see it, its type, its victim link and the ruleset version it is pinned to."""

    scope: CaseScope
    case_type: str | None
    victim_link: str | None
    pinned_version: str | None


# The view's reads are built once: building a select() costs more CPU than running it.
_FACTS: Final = (
    select(
        CaseRow.team,
        CaseRow.caseworker,
        CaseRow.case_type,
        CaseRow.victim_link,
        CaseRulesetRow.ruleset_version,
        CaseShareRow.agency,
    )
    .outerjoin(CaseRulesetRow, CaseRulesetRow.case_id == CaseRow.case_id)
    .outerjoin(CaseShareRow, CaseShareRow.case_id == CaseRow.case_id)
    .where(CaseRow.case_id == bindparam("case_id"))
)
_VICTIMS: Final = select(PersonalDataRow.case_id, PersonalDataRow.data).where(
    PersonalDataRow.case_id.in_(bindparam("case_ids", expanding=True)),
    PersonalDataRow.erased_at.is_(None),
    PersonalDataRow.data.is_not(None),
)


def case_facts(conn: Connection, case_id: str) -> CaseFacts | None:
    """The case row, its pinned ruleset and its shares (one row per share, or one row
    without) in a single round trip."""
    rows = conn.execute(_FACTS, {"case_id": case_id}).all()
    if not rows:
        return None
    first = rows[0]
    return CaseFacts(
        scope=CaseScope(
            case_id=case_id,
            team=first.team,
            caseworker=first.caseworker,
            shared_with=[row.agency for row in rows if row.agency is not None],
        ),
        case_type=first.case_type,
        victim_link=first.victim_link,
        pinned_version=first.ruleset_version,
    )


def case_scope(conn: Connection, case_id: str) -> CaseScope | None:
    facts = case_facts(conn, case_id)
    return None if facts is None else facts.scope


def read_case(
    conn: Connection,
    runtime: Runtime,
    case_id: str,
    as_of: datetime,
    *,
    victim: Mapping[str, Any] | None = None,
    shared_with: Sequence[str] | None = None,
    other_cases: Sequence[str] | None = None,
) -> CaseView:
    """The case as of a moment, replayed from its events under its pinned rules."""
    facts = case_facts(conn, case_id)
    if facts is None:
        raise NoResultFound(f"no case {case_id}")
    return replay_case(
        conn,
        runtime,
        facts,
        as_of,
        victim=victim,
        shared_with=shared_with,
        other_cases=other_cases,
    )


def replay_case(
    conn: Connection,
    runtime: Runtime,
    facts: CaseFacts,
    as_of: datetime,
    *,
    victim: Mapping[str, Any] | None = None,
    shared_with: Sequence[str] | None = None,
    other_cases: Sequence[str] | None = None,
) -> CaseView:
    """The case of these facts (already read, and its scope already checked) as of a
    moment; linked cases' events are read only for a case with a victim link."""
    case_id = facts.scope.case_id
    events = load_case_events(conn, case_id, as_of=as_of)
    linked = (
        load_linked_events(conn, [case_id], as_of=as_of).get(case_id, ())
        if facts.victim_link is not None
        else ()
    )
    derivation = runtime.config.rulesets().derive(
        conn, case_id, [stored.event for stored in events], facts.pinned_version, linked
    )
    return case_view(
        derivation,
        events,
        as_of=as_of,
        tz=runtime.config.timezone,
        case_type=facts.case_type,
        victim=victim,
        shared_with=shared_with,
        other_cases=other_cases,
    )


def victim_data(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """The victim's details as last recorded on the case, unless erased."""
    return _victims(conn, [case_id]).get(case_id)


def _victims(conn: Connection, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each case's victim details (its personal-data records merged), erased ones left out."""
    merged: dict[str, dict[str, Any]] = {}
    for case_id, text in conn.execute(_VICTIMS, {"case_ids": list(case_ids)}):
        value = json.loads(text or "null")
        if isinstance(value, dict) and value:
            merged.setdefault(case_id, {}).update(value)
    return merged
