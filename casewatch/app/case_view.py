"""The case view: one case's access scope, its victim details and the case replayed
from its events as of a moment (what `case show`, the API and the case page show)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from casewatch.cases.store import load_case_events, load_linked_events
from casewatch.cases.tables import CaseRow, PersonalDataRow
from casewatch.engine.store import pinned_versions
from casewatch.service.access import CaseScope
from casewatch.service.runtime import Runtime
from casewatch.service.tables import CaseShareRow
from casewatch.service.views import CaseView, case_view


def case_scope(conn: Connection, case_id: str) -> CaseScope | None:
    found = conn.execute(
        select(CaseRow.team, CaseRow.caseworker).where(CaseRow.case_id == case_id)
    ).first()
    if found is None:
        return None
    shares = conn.execute(select(CaseShareRow.agency).where(CaseShareRow.case_id == case_id))
    return CaseScope(
        case_id=case_id,
        team=found.team,
        caseworker=found.caseworker,
        shared_with=shares.scalars().all(),
    )


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
    case_type = conn.execute(
        select(CaseRow.case_type).where(CaseRow.case_id == case_id)
    ).scalar_one()
    events = load_case_events(conn, case_id, as_of=as_of)
    derivation = runtime.config.rulesets().derive(
        conn,
        case_id,
        [stored.event for stored in events],
        pinned_versions(conn, [case_id]).get(case_id),
        load_linked_events(conn, [case_id], as_of=as_of).get(case_id, ()),
    )
    return case_view(
        derivation,
        events,
        as_of=as_of,
        tz=runtime.config.timezone,
        case_type=case_type,
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
    for case_id, text in conn.execute(
        select(PersonalDataRow.case_id, PersonalDataRow.data).where(
            PersonalDataRow.case_id.in_(case_ids),
            PersonalDataRow.erased_at.is_(None),
            PersonalDataRow.data.is_not(None),
        )
    ):
        value = json.loads(text or "null")
        if isinstance(value, dict) and value:
            merged.setdefault(case_id, {}).update(value)
    return merged
