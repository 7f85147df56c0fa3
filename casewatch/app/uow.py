"""The unit of work: one transaction and the small repositories that work inside it.

Handlers see only these Protocols, so the access and audit decisions they make are
tested against an in-memory fake (tests/unit/fakes.py) in milliseconds. `SqlUnitOfWork`
is the real one: one connection, one transaction per `with`, rolled back unless the
handler commits. `with uow.read_only():` reads instead: on SQLite in a deferred BEGIN, so
readers do not queue behind the writers' lock; on PostgreSQL outside a transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import Connection, Engine, RootTransaction

from casewatch.app.case_list import CaseFilters, CaseSummary, TeamCounts
from casewatch.app.case_view import CaseFacts
from casewatch.app.inbox import AlertItem
from casewatch.cases.db import is_sqlite
from casewatch.cases.store import HeldPersonalData
from casewatch.service.access import CaseScope, Operator, Principal
from casewatch.service.audit import AuditEntry
from casewatch.service.case_reviews import ReviewRow
from casewatch.service.deployment import OidcSettings
from casewatch.service.oidc import Pending, Provider, Started
from casewatch.service.runtime import Runtime
from casewatch.service.views import CaseView


class Cases(Protocol):
    def scope(self, case_id: str) -> CaseScope | None:
        """Who the case belongs to and whom it is shared with; None if there is none."""

    def facts(self, case_id: str) -> CaseFacts | None:
        """What a view needs first, in one read: the scope, type, victim link and pinned
        ruleset version; None if there is no such case."""

    def view(
        self,
        facts: CaseFacts,
        as_of: datetime,
        *,
        victim: Mapping[str, Any] | None,
        shared_with: Sequence[str],
        other_cases: Sequence[str] | None,
    ) -> CaseView:
        """The case of these facts replayed from its events as of a moment."""

    def victim(self, case_id: str) -> dict[str, Any] | None:
        """The victim's details, unless erased."""

    def linked(self, case_id: str) -> list[str]:
        """The victim's other cases, linked by their reference (whoever may see them)."""

    def share(self, case_id: str, agency: str, *, at: datetime, by: int) -> None:
        """Share the case with an agency (sharing it again changes nothing)."""

    def page(self, who: Principal, filters: CaseFilters, now: datetime) -> list[CaseSummary]:
        """One page of the cases `who` may see that the filters keep."""

    def count(self, who: Principal, filters: CaseFilters, now: datetime) -> int:
        """How many cases `who` may see that the filters keep, before paging."""

    def team_counts(self, who: Principal, filters: CaseFilters, now: datetime) -> list[TeamCounts]:
        """Per team of those cases: how many, at each RAG, and high risk."""

    def reviews_in_progress(self, who: Principal, now: datetime) -> list[ReviewRow]:
        """The ASB case reviews under way on cases `who` may see."""

    def case_review(self, case_id: str, now: datetime) -> dict[str, Any]:
        """One case's ASB case review, for its page."""

    def latest_event_at(self) -> datetime | None:
        """When the newest event happened."""

    def holding_personal_data(self, case_type: str, closed_by: datetime) -> list[HeldPersonalData]:
        """Closed cases of a type, closed at or before `closed_by`, with personal data left."""

    def erase_personal_data(self, case_id: str, now: datetime) -> int:
        """Erase the victim's details recorded on the case; how many records were erased."""


class Alerts(Protocol):
    def inbox(
        self,
        who: Principal,
        *,
        include_acknowledged: bool,
        only: int | None = None,
        limit: int = ...,
        offset: int = 0,
    ) -> list[AlertItem]:
        """Alerts addressed to `who`'s role on cases they may see, newest first."""

    def count(self, who: Principal, *, include_acknowledged: bool) -> int:
        """How many alerts the inbox holds in all."""

    def acknowledge(self, alert_id: int, *, by: int, at: datetime) -> None:
        """Mark the alert acknowledged (a second time changes nothing)."""


class Audit(Protocol):
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
        """One row of the audit trail, committed with the work it records."""

    def entries(self, *, case_id: str | None, username: str | None, limit: int) -> list[AuditEntry]:
        """Newest first, for one case or one user (or everything)."""


class Users(Protocol):
    def authenticate(
        self, username: str, password: str, address: str, now: datetime
    ) -> Principal | None:
        """The person if the password is right; raises accounts.ThrottledError."""

    def clear_failures(self, username: str) -> None: ...

    def record_failure(self, username: str, address: str, now: datetime) -> None: ...

    def throttled(self, username: str, address: str, now: datetime) -> bool:
        """Too many failures lately, for this person or from this address."""

    def add(
        self,
        *,
        username: str,
        display_name: str,
        role: str,
        agency: str,
        teams: Sequence[str],
        password: str,
        now: datetime,
    ) -> None:
        """A new person; raises accounts.AccountError in words."""

    def everyone(self) -> list[Principal]: ...

    def set_password(self, username: str, password: str) -> None:
        """A new password, ending their sessions; raises accounts.AccountError in words."""

    def issue_token(self, username: str, name: str, now: datetime) -> str:
        """A new API token, returned once; raises accounts.AccountError in words."""

    def reset_two_factor(self, username: str) -> bool:
        """Two-factor sign-in off and sessions ended; False if there is no such person."""

    def two_factor_enrolled(self, user_id: int) -> bool: ...

    def verify_code(self, user_id: int, code: str, now: datetime) -> str | None:
        """How a two-factor code was accepted, or None (accepting uses it up)."""

    def pending_secret(self, user_id: int) -> str: ...

    def confirm_enrolment(self, user_id: int, code: str, now: datetime) -> list[str] | None: ...

    def recovery_codes_left(self, user_id: int) -> int: ...

    def oidc_person(self, settings: OidcSettings, claims: Mapping[str, Any]) -> Principal:
        """The person a provider's verified claims name; raises oidc.SignInRefused."""


class Sessions(Protocol):
    def start(self, user_id: int, now: datetime, stage: str = "full") -> tuple[str, str]:
        """(the session token, its CSRF token)."""

    def end(self, token: str) -> None: ...

    def principal(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        """The person and CSRF token of a live, full session."""

    def enrolling(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        """As `principal`, at either stage of the session."""

    def token_principal(self, token: str) -> Principal | None:
        """The person an API token acts for."""

    def start_oidc(
        self,
        settings: OidcSettings,
        *,
        provider: Provider,
        redirect_uri: str,
        next_path: str,
        now: datetime,
    ) -> Started: ...

    def take_oidc(
        self, state: str, cookie: str, now: datetime, *, provider_error: str | None
    ) -> Pending:
        """The pending OIDC sign-in, used up; raises oidc.SignInRefused."""


class UnitOfWork(Protocol):
    cases: Cases
    alerts: Alerts
    audit: Audit
    users: Users
    sessions: Sessions

    def read_only(self) -> Self:
        """The next `with` opens a read-only transaction."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    def commit(self) -> None: ...


Binder = Callable[[Connection, Runtime], tuple[Cases, Alerts, Audit, Users, Sessions]]


class SqlUnitOfWork:
    """One connection and one transaction per `with`, on the runtime's engine."""

    cases: Cases
    alerts: Alerts
    audit: Audit
    users: Users
    sessions: Sessions

    def __init__(self, runtime: Runtime, bind: Binder) -> None:
        self._runtime = runtime
        self._engine: Engine = runtime.engine
        self._bind = bind
        self._reading = False
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    def read_only(self) -> Self:
        self._reading = True
        return self

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        if self._reading and is_sqlite(self._engine):
            conn = conn.execution_options(read_only=True)
        elif self._reading:
            # PostgreSQL at READ COMMITTED gives each statement its own snapshot inside a
            # transaction or not: a read needs none, and saves a BEGIN and a COMMIT round
            # trip on every request (the caller's identity is one such read).
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        self._reading = False
        self._conn, self._tx = conn, conn.begin()
        self.cases, self.alerts, self.audit, self.users, self.sessions = self._bind(
            conn, self._runtime
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None or tx is None:
            return
        try:
            if tx.is_active:
                tx.rollback()
        finally:
            conn.close()

    def commit(self) -> None:
        assert self._tx is not None, "commit outside `with uow:`"
        self._tx.commit()
