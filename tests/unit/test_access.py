"""The access rules as a table: each role against a case of its team, of another team,
and of another team shared with its agency."""

from __future__ import annotations

import pytest

from casewatch.service.access import (
    Action,
    CaseScope,
    Principal,
    Role,
    alert_recipients,
    can_edit_case,
    can_open_case_in,
    can_share_case,
    can_view_case,
)

OWN = CaseScope("A-1", team="north", caseworker="cw")
OTHER = CaseScope("A-2", team="south", caseworker="x")
SHARED = CaseScope("A-3", team="south", caseworker="x", shared_with={"council"})
NO_TEAM = CaseScope("A-4", team=None, caseworker=None)


def person(role: Role) -> Principal:
    return Principal(1, "cw", "Cee Wee", role, "council", {"north"})


# role: (view own, other, shared, no team), (edit own, other, shared, no team)
TABLE = {
    Role.CASEWORKER: ((True, False, True, False), (True, False, True, False)),
    Role.MANAGER: ((True, False, False, False), (True, False, False, False)),
    Role.PSG: ((True, True, True, True), (False, False, False, False)),
    Role.ADMIN: ((False, False, False, False), (False, False, False, False)),
}


@pytest.mark.parametrize("role", list(Role))
def test_who_sees_and_edits_which_case(role: Role) -> None:
    """Teams and sharing decide for caseworkers; managers their teams; PSG reads all."""
    who = person(role)
    cases = (OWN, OTHER, SHARED, NO_TEAM)
    views, edits = TABLE[role]
    assert tuple(can_view_case(who, c) for c in cases) == views
    assert tuple(can_edit_case(who, c) for c in cases) == edits


def test_only_the_owning_team_shares_and_opens() -> None:
    """Sharing and opening need the team; a shared case cannot be re-shared onward."""
    caseworker = person(Role.CASEWORKER)
    assert can_share_case(caseworker, OWN)
    assert not can_share_case(caseworker, SHARED)
    assert can_open_case_in(caseworker, "north")
    assert not can_open_case_in(caseworker, "south")
    assert not can_open_case_in(caseworker, None)
    assert not can_open_case_in(person(Role.PSG), "north")


def test_personal_data_and_actions_by_role() -> None:
    """Only caseworkers and managers see victims; only admins manage users and the audit."""
    seers = {r for r in Role if person(r).sees_personal_data}
    assert seers == {Role.CASEWORKER, Role.MANAGER}
    assert {r for r in Role if person(r).may(Action.MANAGE_USERS)} == {Role.ADMIN}
    assert {r for r in Role if person(r).may(Action.VIEW_REPORTS)} == {Role.MANAGER, Role.PSG}
    assert alert_recipients(person(Role.MANAGER)) == {"team_manager", "service_manager"}
    assert alert_recipients(person(Role.ADMIN)) == frozenset()
