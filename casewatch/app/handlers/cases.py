"""Handlers for cases: view, list, the team dashboard, open, record, share.

Each decides access with the pure rules of casewatch.service.access and writes its audit
row in the transaction that does the work. A case someone may not see is NotFound, never
Forbidden, so a case reference cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from casewatch.app.case_list import CaseFilters, CasePage, TeamCounts, TeamSummary, _non_default
from casewatch.app.commands import OpenCase, RecordEvent, ShareCase
from casewatch.app.deps import CaseAsWritten, Deps
from casewatch.app.errors import ForbiddenError, InvalidEventError, NotFoundError
from casewatch.app.queries import ListCases, ViewCase, ViewTeam
from casewatch.app.uow import Audit, UnitOfWork
from casewatch.cases.problems import Problem
from casewatch.cases.validation import nesting_problems
from casewatch.service.access import (
    Action,
    CaseScope,
    Principal,
    Role,
    can_edit_case,
    can_open_case_in,
    can_share_case,
    can_view_case,
)
from casewatch.service.views import CaseView, case_view


def view_case(query: ViewCase, uow: UnitOfWork, deps: Deps) -> CaseView:
    """The case, audited as viewed. The audit row is committed before the view is
    returned: a view that could not be recorded is not shown."""
    view = current_view(uow, deps, query.who, query.case_id, query.as_of)
    with uow:
        uow.audit.append(
            query.who,
            "case.view",
            now=deps.clock(),
            address=query.address,
            case_id=query.case_id,
            detail={"personal_data": query.who.sees_personal_data},
        )
        uow.commit()
    return view


def current_view(
    uow: UnitOfWork, deps: Deps, who: Principal, case_id: str, as_of: datetime | None
) -> CaseView:
    with uow.read_only():
        facts = uow.cases.facts(case_id)
        if facts is None or not can_view_case(who, facts.scope):
            raise NotFoundError
        personal = who.sees_personal_data
        return uow.cases.view(
            facts,
            as_of or deps.clock(),
            victim=uow.cases.victim(case_id) if personal else None,
            shared_with=sorted(facts.scope.shared_with),
            other_cases=(_other_cases(uow, who, case_id) if facts.victim_link else [])
            if personal
            else None,
        )


def visible(uow: UnitOfWork, who: Principal, case_id: str) -> CaseScope:
    scope = uow.cases.scope(case_id)
    if scope is None or not can_view_case(who, scope):
        raise NotFoundError
    return scope


def _other_cases(uow: UnitOfWork, who: Principal, case_id: str) -> list[str]:
    """The victim's other cases (linked by their reference) that `who` may see; only a
    case with a victim link has any, so ask only for one."""
    return [
        other
        for other in uow.cases.linked(case_id)
        if (scope := uow.cases.scope(other)) is not None and can_view_case(who, scope)
    ]


def list_cases(query: ListCases, uow: UnitOfWork, deps: Deps) -> CasePage:
    if not query.who.may(Action.LIST_CASES):
        raise ForbiddenError
    now = deps.clock()
    with uow.read_only():
        summaries = uow.cases.page(query.who, query.filters, now)
        total = uow.cases.count(query.who, query.filters, now) if query.counted else len(summaries)
    _audit_list(uow, query.who, query.filters, len(summaries), now=now, address=query.address)
    return CasePage(summaries, total)


def view_team(query: ViewTeam, uow: UnitOfWork, deps: Deps) -> TeamSummary:
    """The manager's dashboard: every open case of their teams counted in SQL, the
    first page of those at risk, and how many alerts wait for them."""
    who = query.who
    if not who.may(Action.VIEW_TEAM):
        raise ForbiddenError
    now = deps.clock()
    at_risk = CaseFilters(at_risk=True, limit=query.at_risk_shown)
    with uow.read_only():
        counts = {t.team: t for t in uow.cases.team_counts(who, CaseFilters(), now)}
        cases = uow.cases.page(who, at_risk, now)
        waiting = uow.alerts.count(who, include_acknowledged=False)
    teams = [counts.get(team) or TeamCounts(team, 0, 0, 0, 0) for team in sorted(who.teams)]
    _audit_list(uow, who, at_risk, len(cases), now=now, address=query.address)
    return TeamSummary(teams, cases, sum(t.red + t.amber for t in teams), waiting)


def _audit_list(
    uow: UnitOfWork,
    who: Principal,
    filters: CaseFilters,
    shown: int,
    *,
    now: datetime,
    address: str | None,
) -> None:
    with uow:
        uow.audit.append(
            who,
            "case.list",
            now=now,
            address=address,
            detail={"filters": _non_default(filters), "cases": shown},
        )
        uow.commit()


def open_case(command: OpenCase, uow: UnitOfWork, deps: Deps) -> CaseView:
    who = command.who
    if not who.may(Action.OPEN_CASE):
        raise ForbiddenError
    event = dict(command.body)
    event["type"] = "case_opened"
    event.setdefault("case_id", _new_reference(event.get("case_type")))
    event.setdefault("caseworker", who.username if who.role is Role.CASEWORKER else None)
    if event.get("caseworker") is None:
        event.pop("caseworker")
    team = event.get("team")
    if not isinstance(team, str) or not team.strip():
        raise InvalidEventError([Problem("team", "'team' must be non-empty text")])
    if not can_open_case_in(who, team):
        raise InvalidEventError(
            [Problem("team", f"you can open cases only in your teams: {_teams(who)}")]
        )
    case_id = str(event["case_id"])
    written = _apply(deps, who, event, "case.open", command.address)
    return written_view(uow, deps, who, case_id, written, shared_with=frozenset())


def record_event(command: RecordEvent, uow: UnitOfWork, deps: Deps) -> CaseView:
    who, case_id = command.who, command.case_id
    with uow.read_only():
        scope = visible(uow, who, case_id)
    if not can_edit_case(who, scope):
        raise ForbiddenError
    event = dict(command.body)
    if event.get("case_id", case_id) != case_id:
        raise InvalidEventError(
            [Problem("case_id", f"'case_id' must be '{case_id}', the case in the path")]
        )
    event["case_id"] = case_id
    if event.get("type") == "case_opened":
        raise InvalidEventError([Problem("type", "a case is opened with POST /api/v1/cases")])
    written = _apply(deps, who, event, "event.record", command.address)
    return written_view(uow, deps, who, case_id, written, shared_with=scope.shared_with)


def written_view(
    uow: UnitOfWork,
    deps: Deps,
    who: Principal,
    case_id: str,
    written: CaseAsWritten | None,
    *,
    shared_with: frozenset[str],
) -> CaseView:
    """The case as it is now, as `current_view` shows it, from the derivation the write
    made rather than by replaying the case once more: the same events and rules give the
    same view. Replayed after all when the write derived nothing (a duplicate) or the
    case holds an event later than now, which a view as of now leaves out."""
    as_of = deps.clock()
    if written is None or written.latest_at > as_of:
        return current_view(uow, deps, who, case_id, None)
    state = written.derivation.state
    # An event can move the case (a new team or caseworker): shown only if still visible.
    after = CaseScope(case_id, state.team, state.caseworker, shared_with)
    if not can_view_case(who, after):
        raise NotFoundError
    victim, other_cases = None, None
    if who.sees_personal_data:
        victim = written.victim
        other_cases = []
        if state.victim_link:
            with uow.read_only():
                other_cases = _other_cases(uow, who, case_id)
    return case_view(
        written.derivation,
        written.events,
        as_of=as_of,
        tz=deps.config.timezone,
        case_type=state.case_type,
        victim=victim,
        shared_with=sorted(shared_with),
        other_cases=other_cases,
    )


def share_case(command: ShareCase, uow: UnitOfWork, deps: Deps) -> list[str]:
    who, case_id, agency = command.who, command.case_id, command.agency
    now = deps.clock()
    with uow:
        scope = visible(uow, who, case_id)
        if not can_share_case(who, scope):
            raise ForbiddenError
        if agency not in scope.shared_with and agency != who.agency:
            uow.cases.share(case_id, agency, at=now, by=who.user_id)
            uow.audit.append(
                who,
                "case.share",
                now=now,
                address=command.address,
                case_id=case_id,
                detail={"agency": agency},
            )
        uow.commit()
    return sorted(scope.shared_with | {agency} - {who.agency})


def _apply(
    deps: Deps, who: Principal, event: dict[str, Any], action: str, address: str | None
) -> CaseAsWritten | None:
    """Append the event with its audit row in the same transaction, or raise its
    problems; the case as the write derived it, if it did."""
    event.setdefault("event_id", f"web-{uuid.uuid4().hex}")
    event.setdefault("at", deps.clock().astimezone(deps.config.timezone).isoformat())
    too_deep = nesting_problems(event)  # before the writer serialises it
    if too_deep:
        raise InvalidEventError(too_deep)

    def audited(audit: Audit, duplicate: bool) -> None:
        audit.append(
            who,
            action,
            now=deps.clock(),
            address=address,
            case_id=str(event["case_id"]),
            detail={
                "event_id": event["event_id"],
                "type": event.get("type"),
                "duplicate": duplicate,
            },
        )

    outcome = deps.events.append(event, source=f"api:{who.username}", then=audited)
    if outcome is None or isinstance(outcome, CaseAsWritten):
        return outcome
    raise InvalidEventError(outcome)


def _new_reference(case_type: Any) -> str:
    known = {"asb": "ASB", "domestic_abuse": "DA"}
    prefix = known.get(case_type, "CASE") if isinstance(case_type, str) else "CASE"
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def _teams(who: Principal) -> str:
    return ", ".join(sorted(who.teams)) or "none"
