"""An in-memory unit of work, event writer and report builder for the application layer's
handlers: what they decide (access, audit rows) is tested without a database.

Writes made inside `with uow:` become visible to later units of work only once the
handler commits; leaving the block without committing throws them away, as a rolled-back
transaction does."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import define, evolve, field, frozen

from casewatch.app.bus import Application
from casewatch.app.case_list import CaseFilters, CaseSummary, TeamCounts
from casewatch.app.case_view import CaseFacts
from casewatch.app.deps import Deps, Then
from casewatch.app.inbox import AlertItem
from casewatch.cases.problems import Problem
from casewatch.cases.store import HeldPersonalData
from casewatch.service import accounts
from casewatch.service.access import (
    CaseScope,
    Operator,
    Principal,
    Role,
    alert_recipients,
    can_view_case,
)
from casewatch.service.config import Config
from casewatch.service.views import CaseView, RiskView

NOW = datetime(2015, 4, 1, 11, 0, tzinfo=UTC)


@frozen
class AuditRow:
    username: str
    action: str
    case_id: str | None
    detail: dict[str, Any]
    address: str | None


@frozen
class Alert:
    id: int
    case_id: str
    level: str
    recipients: tuple[str, ...]


@define
class Store:
    """What the fake database holds once committed."""

    cases: dict[str, CaseScope] = field(factory=dict)
    case_types: dict[str, str] = field(factory=dict)
    victims: dict[str, dict[str, Any]] = field(factory=dict)
    links: dict[str, list[str]] = field(factory=dict)
    alerts: list[Alert] = field(factory=list)
    acknowledged: dict[int, tuple[str, datetime]] = field(factory=dict)
    audit: list[AuditRow] = field(factory=list)
    events: list[dict[str, Any]] = field(factory=list)
    passwords: dict[str, tuple[Principal, str]] = field(factory=dict)
    sessions: dict[str, tuple[Principal, str]] = field(factory=dict)
    failures: list[str] = field(factory=list)
    closed_at: dict[str, datetime] = field(factory=dict)
    tokens: dict[str, str] = field(factory=dict)

    def add_case(
        self,
        case_id: str,
        team: str,
        *,
        caseworker: str | None = None,
        shared_with: Sequence[str] = (),
        case_type: str = "asb",
        victim: dict[str, Any] | None = None,
    ) -> None:
        self.cases[case_id] = CaseScope(case_id, team, caseworker, frozenset(shared_with))
        self.case_types[case_id] = case_type
        if victim is not None:
            self.victims[case_id] = victim

    def actions(self) -> list[str]:
        return [row.action for row in self.audit]


@define
class Pending:
    """Writes of the transaction under way."""

    audit: list[AuditRow] = field(factory=list)
    shares: list[tuple[str, str]] = field(factory=list)
    acknowledged: dict[int, tuple[str, datetime]] = field(factory=dict)
    sessions: dict[str, tuple[Principal, str]] = field(factory=dict)
    ended: list[str] = field(factory=list)
    failures: list[str] = field(factory=list)
    erased: list[str] = field(factory=list)
    passwords: dict[str, str] = field(factory=dict)
    tokens: dict[str, str] = field(factory=dict)


class FakeCases:
    def __init__(self, store: Store, pending: Pending) -> None:
        self.store, self.pending = store, pending

    def scope(self, case_id: str) -> CaseScope | None:
        return self.store.cases.get(case_id)

    def facts(self, case_id: str) -> CaseFacts | None:
        scope = self.store.cases.get(case_id)
        if scope is None:
            return None
        link = f"link-{case_id}" if self.store.links.get(case_id) else None
        return CaseFacts(scope, self.store.case_types[case_id], link, None)

    def view(
        self,
        facts: CaseFacts,
        as_of: datetime,
        *,
        victim: Mapping[str, Any] | None,
        shared_with: Sequence[str],
        other_cases: Sequence[str] | None,
    ) -> CaseView:
        case_id, scope = facts.scope.case_id, facts.scope
        return CaseView(
            case_id=case_id,
            case_type=facts.case_type,
            team=scope.team,
            caseworker=scope.caseworker,
            status="open",
            opened_at=None,
            closed_at=None,
            as_of=as_of.isoformat(),
            risk=RiskView(None, None, None, None),
            flags=[],
            flag_details=[],
            cycles=[],
            ruleset_version=None,
            timeline=[],
            victim=dict(victim) if victim is not None else None,
            shared_with=list(shared_with),
            other_cases=list(other_cases) if other_cases is not None else None,
        )

    def victim(self, case_id: str) -> dict[str, Any] | None:
        return self.store.victims.get(case_id)

    def linked(self, case_id: str) -> list[str]:
        return list(self.store.links.get(case_id, []))

    def share(self, case_id: str, agency: str, *, at: datetime, by: int) -> None:
        self.pending.shares.append((case_id, agency))

    def holding_personal_data(self, case_type: str, closed_by: datetime) -> list[HeldPersonalData]:
        return [
            HeldPersonalData(case_id, case_type, closed, 1)
            for case_id, closed in self.store.closed_at.items()
            if self.store.case_types[case_id] == case_type
            and closed <= closed_by
            and case_id in self.store.victims
        ]

    def erase_personal_data(self, case_id: str, now: datetime) -> int:
        if case_id not in self.store.victims or case_id in self.pending.erased:
            return 0
        self.pending.erased.append(case_id)
        return 1

    def _visible(self, who: Principal) -> list[CaseScope]:
        return [scope for _, scope in sorted(self.store.cases.items()) if can_view_case(who, scope)]

    def page(self, who: Principal, filters: CaseFilters, now: datetime) -> list[CaseSummary]:
        return [
            CaseSummary(s.case_id, "asb", s.team, s.caseworker, "open", None, [], None, None, False)
            for s in self._visible(who)
        ][filters.offset : filters.offset + filters.limit]

    def count(self, who: Principal, filters: CaseFilters, now: datetime) -> int:
        return len(self._visible(who))

    def team_counts(self, who: Principal, filters: CaseFilters, now: datetime) -> list[TeamCounts]:
        teams = sorted({s.team for s in self._visible(who) if s.team})
        return [
            TeamCounts(team, sum(s.team == team for s in self._visible(who)), 0, 0, 0)
            for team in teams
        ]

    def reviews_in_progress(self, who: Principal, now: datetime) -> list[Any]:
        return []

    def case_review(self, case_id: str, now: datetime) -> dict[str, Any]:
        return {"applications": [], "events": [], "progress": None}

    def latest_event_at(self) -> datetime | None:
        return None


class FakeAlerts:
    """The inbox rule the SQL query applies: the person's role among the recipients, on a
    case they may see (a caseworker's own cases only)."""

    def __init__(self, store: Store, pending: Pending) -> None:
        self.store, self.pending = store, pending

    def _mine(self, who: Principal, include_acknowledged: bool) -> list[AlertItem]:
        roles = alert_recipients(who)
        found = []
        for alert in reversed(self.store.alerts):
            scope = self.store.cases[alert.case_id]
            if not can_view_case(who, scope) or not roles & set(alert.recipients):
                continue
            if who.role is Role.CASEWORKER and scope.caseworker != who.username:
                continue
            acknowledged = self.pending.acknowledged.get(alert.id) or self.store.acknowledged.get(
                alert.id
            )
            if acknowledged and not include_acknowledged:
                continue
            found.append(
                AlertItem(
                    id=alert.id,
                    case_id=alert.case_id,
                    policy="p",
                    cycle=1,
                    level=alert.level,
                    at=NOW.isoformat(),
                    recipients=list(alert.recipients),
                    superseded=False,
                    acknowledged_at=acknowledged[1].isoformat() if acknowledged else None,
                    acknowledged_by=acknowledged[0] if acknowledged else None,
                )
            )
        return found

    def inbox(
        self,
        who: Principal,
        *,
        include_acknowledged: bool,
        only: int | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[AlertItem]:
        mine = self._mine(who, include_acknowledged)
        if only is not None:
            mine = [alert for alert in mine if alert.id == only]
        return mine[offset : offset + limit]

    def count(self, who: Principal, *, include_acknowledged: bool) -> int:
        return len(self._mine(who, include_acknowledged))

    def acknowledge(self, alert_id: int, *, by: int, at: datetime) -> None:
        self.pending.acknowledged.setdefault(alert_id, (f"user-{by}", at))


class FakeAudit:
    def __init__(self, rows: list[AuditRow]) -> None:
        self.rows = rows

    def append(
        self,
        who: Principal | Operator | None,
        action: str,
        *,
        now: datetime,
        address: str | None,
        case_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        username: str | None = None,
    ) -> None:
        if isinstance(who, Operator):
            name, address = who.name, "cli"
        else:
            name = who.username if who else (username or "-")
        self.rows.append(AuditRow(name, action, case_id, dict(detail or {}), address))

    def entries(self, *, case_id: str | None, username: str | None, limit: int) -> list[Any]:
        return []


class FakeUsers:
    def __init__(self, store: Store, pending: Pending) -> None:
        self.store, self.pending = store, pending

    def authenticate(
        self, username: str, password: str, address: str, now: datetime
    ) -> Principal | None:
        if self.store.failures.count(username) >= accounts.MAX_FAILURES_PER_USER:
            raise accounts.ThrottledError
        found = self.store.passwords.get(username)
        if found is None or found[1] != password:
            self.pending.failures.append(username)
            return None
        return found[0]

    def clear_failures(self, username: str) -> None:
        self.store.failures = [name for name in self.store.failures if name != username]

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        self.pending.failures.append(username)

    def throttled(self, username: str, address: str, now: datetime) -> bool:
        return self.store.failures.count(username) >= accounts.MAX_FAILURES_PER_USER

    def add(self, **person: Any) -> None:
        if person["username"] in self.store.passwords:
            raise accounts.AccountError(f"a user '{person['username']}' already exists")

    def everyone(self) -> list[Principal]:
        return [who for who, _ in self.store.passwords.values()]

    def _known(self, username: str) -> None:
        if username not in self.store.passwords:
            raise accounts.AccountError(f"no user '{username}'")

    def set_password(self, username: str, password: str) -> None:
        self._known(username)
        self.pending.passwords[username] = password

    def issue_token(self, username: str, name: str, now: datetime) -> str:
        self._known(username)
        token = f"token-{len(self.store.tokens) + len(self.pending.tokens) + 1}"
        self.pending.tokens[token] = username
        return token

    def reset_two_factor(self, username: str) -> bool:
        return username in self.store.passwords

    def two_factor_enrolled(self, user_id: int) -> bool:
        return False

    def verify_code(self, user_id: int, code: str, now: datetime) -> str | None:
        return None

    def pending_secret(self, user_id: int) -> str:
        return "SECRET"

    def confirm_enrolment(self, user_id: int, code: str, now: datetime) -> list[str] | None:
        return None

    def recovery_codes_left(self, user_id: int) -> int:
        return 0

    def oidc_person(self, settings: Any, claims: Mapping[str, Any]) -> Principal:
        raise NotImplementedError("no OIDC provider in these tests")


class FakeSessions:
    def __init__(self, store: Store, pending: Pending) -> None:
        self.store, self.pending = store, pending

    def start(self, user_id: int, now: datetime, stage: str = "full") -> tuple[str, str]:
        token = f"token-{len(self.store.sessions) + len(self.pending.sessions)}"
        who = next(p for p, _ in self.store.passwords.values() if p.user_id == user_id)
        self.pending.sessions[token] = (who, stage)
        return token, f"csrf-{token}"

    def end(self, token: str) -> None:
        self.pending.ended.append(token)

    def principal(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        found = self.store.sessions.get(token)
        return (found[0], f"csrf-{token}") if found and found[1] == "full" else None

    def enrolling(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        found = self.store.sessions.get(token)
        return (found[0], f"csrf-{token}") if found else None

    def token_principal(self, token: str) -> Principal | None:
        return None

    def start_oidc(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("no OIDC provider in these tests")

    def take_oidc(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("no OIDC provider in these tests")


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._next_read_only = self.reading = False

    def read_only(self) -> FakeUnitOfWork:
        self._next_read_only = True
        return self

    def __enter__(self) -> FakeUnitOfWork:
        self.reading, self._next_read_only = self._next_read_only, False
        self._pending = Pending()
        self.cases = FakeCases(self.store, self._pending)
        self.alerts = FakeAlerts(self.store, self._pending)
        self.audit = FakeAudit(self._pending.audit)
        self.users = FakeUsers(self.store, self._pending)
        self.sessions = FakeSessions(self.store, self._pending)
        return self

    def __exit__(self, *exc: object) -> None:
        self._pending = Pending()  # whatever was not committed is gone

    def commit(self) -> None:
        assert not self.reading, "a commit in a read-only transaction"
        pending, store = self._pending, self.store
        store.audit.extend(pending.audit)
        for case_id, agency in pending.shares:
            scope = store.cases[case_id]
            store.cases[case_id] = evolve(scope, shared_with=scope.shared_with | {agency})
        store.acknowledged.update(pending.acknowledged)
        store.sessions.update(pending.sessions)
        for token in pending.ended:
            store.sessions.pop(token, None)
        store.failures.extend(pending.failures)
        for case_id in pending.erased:
            store.victims.pop(case_id, None)
        for username, password in pending.passwords.items():
            store.passwords[username] = (store.passwords[username][0], password)
        store.tokens.update(pending.tokens)
        self._next_read_only = self.reading
        self.__enter__()  # a fresh pending set for anything after the commit


@define
class FakeEventWriter:
    """Applies every event it is given, unless told which problems to refuse it with."""

    store: Store
    refuse_with: list[Problem] | None = None

    def append(
        self, event: Mapping[str, Any], *, source: str, then: Then
    ) -> Sequence[Problem] | None:
        if self.refuse_with is not None:
            return self.refuse_with
        rows: list[AuditRow] = []
        duplicate = any(e.get("event_id") == event.get("event_id") for e in self.store.events)
        then(FakeAudit(rows), duplicate)
        self.store.events.append(dict(event))
        self.store.audit.extend(rows)
        return None


class FakeReports:
    def sla(self, request: Any) -> dict[str, Any]:
        return {"period": request.period.label}

    def case_reviews(self, request: Any) -> dict[str, Any]:
        return {"period": request.period.label}

    def landing_period(self, now: datetime) -> Any:
        raise NotImplementedError

    def whatif(self, edit: Any, period: Any) -> Any:
        raise NotImplementedError


def fake_application(
    store: Store, config: Config, clock: Callable[[], datetime] = lambda: NOW
) -> tuple[Application, FakeEventWriter]:
    events = FakeEventWriter(store)
    deps = Deps(config=config, clock=clock, events=events, reports=FakeReports())
    return Application(lambda: FakeUnitOfWork(store), deps), events
