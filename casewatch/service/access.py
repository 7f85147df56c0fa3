"""Who may do what: the access rules as pure functions of a person and a case.

Kept apart from HTTP and the database so the whole matrix (every role against every
kind of case) is tested in one table, and the API and the pages ask the same questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from attrs import field, frozen


class Role(StrEnum):
    CASEWORKER = "caseworker"
    MANAGER = "manager"
    PSG = "psg"
    ADMIN = "admin"


ROLES: Final = tuple(role.value for role in Role)


class Action(StrEnum):
    """Things a person can ask for, independent of any particular case."""

    LIST_CASES = "list cases"
    OPEN_CASE = "open a case"
    VIEW_ALERTS = "see alerts"
    VIEW_REPORTS = "see SLA reports"
    VIEW_TEAM = "see the team dashboard"
    MANAGE_USERS = "manage users"
    VIEW_AUDIT = "read the audit log"
    ERASE_PERSONAL_DATA = "erase a victim's personal data"


ALLOWED: Final[dict[Action, frozenset[Role]]] = {
    Action.LIST_CASES: frozenset({Role.CASEWORKER, Role.MANAGER, Role.PSG}),
    Action.OPEN_CASE: frozenset({Role.CASEWORKER, Role.MANAGER}),
    Action.VIEW_ALERTS: frozenset({Role.CASEWORKER, Role.MANAGER, Role.PSG}),
    Action.VIEW_REPORTS: frozenset({Role.MANAGER, Role.PSG}),
    Action.VIEW_TEAM: frozenset({Role.MANAGER}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.VIEW_AUDIT: frozenset({Role.ADMIN}),
    Action.ERASE_PERSONAL_DATA: frozenset(),  # an operator's, at the console
}

# What someone at the console may do: they hold the database's own credentials, so these
# are the changes they are trusted with, each audited under the name they give.
OPERATOR_ACTIONS: Final = frozenset({Action.MANAGE_USERS, Action.ERASE_PERSONAL_DATA})

# Which alert recipients (roles in notifications.yaml) land in whose inbox.
ALERT_RECIPIENTS: Final[dict[Role, frozenset[str]]] = {
    Role.CASEWORKER: frozenset({"caseworker"}),
    Role.MANAGER: frozenset({"team_manager", "service_manager"}),
    Role.PSG: frozenset({"psg_chair"}),
    Role.ADMIN: frozenset(),
}


def _frozen(names: Iterable[str]) -> frozenset[str]:
    return frozenset(names)


@frozen
class Principal:
    """A signed-in person (or the person an API token acts for)."""

    user_id: int
    username: str
    display_name: str
    role: Role
    agency: str
    teams: frozenset[str] = field(converter=_frozen)

    def may(self, action: Action) -> bool:
        return self.role in ALLOWED[action]

    @property
    def sees_personal_data(self) -> bool:
        """PSG members see case references and aggregates only; admins no case data."""
        return self.role in {Role.CASEWORKER, Role.MANAGER}


@frozen
class CaseScope:
    """What access decisions need to know about a case."""

    case_id: str
    team: str | None
    caseworker: str | None
    shared_with: frozenset[str] = field(converter=_frozen, factory=frozenset)


@frozen
class Operator:
    """Someone running `casewatch` at the console (`--operator NAME`, else "cli"): no
    signed-in person, so no case or alert is theirs; the audit trail names them as given."""

    name: str = "cli"

    def may(self, action: Action) -> bool:
        return action in OPERATOR_ACTIONS


Actor = Principal | Operator


def can_view_case(who: Principal, case: CaseScope) -> bool:
    if who.role is Role.CASEWORKER:
        return _in_teams(who, case) or who.agency in case.shared_with
    if who.role is Role.MANAGER:
        return _in_teams(who, case)
    # A PSG reviews every case of the partnership, by reference only.
    return who.role is Role.PSG


def can_edit_case(who: Principal, case: CaseScope) -> bool:
    if who.role is Role.CASEWORKER:
        return _in_teams(who, case) or who.agency in case.shared_with
    return who.role is Role.MANAGER and _in_teams(who, case)


def can_share_case(who: Principal, case: CaseScope) -> bool:
    """Only the owning team shares a case outward (caseworker or manager)."""
    return who.role in {Role.CASEWORKER, Role.MANAGER} and _in_teams(who, case)


def can_open_case_in(who: Principal, team: str | None) -> bool:
    return who.may(Action.OPEN_CASE) and team is not None and team in who.teams


def alert_recipients(who: Principal) -> frozenset[str]:
    return ALERT_RECIPIENTS[who.role]


def _in_teams(who: Principal, case: CaseScope) -> bool:
    return case.team is not None and case.team in who.teams
