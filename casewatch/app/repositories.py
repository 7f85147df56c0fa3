"""The SQL repositories behind the unit of work: each wraps the existing query and store
functions on the unit of work's connection, adding no SQL of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, func, select

from casewatch.app import case_list, case_view, inbox
from casewatch.app.case_list import MAX_PAGE, CaseFilters, CaseSummary, TeamCounts
from casewatch.app.case_view import CaseFacts
from casewatch.app.inbox import AlertItem
from casewatch.app.uow import Alerts, Audit, Cases, Sessions, Users
from casewatch.cases.db import upsert_insert
from casewatch.cases.store import (
    HeldPersonalData,
    closed_cases_holding_personal_data,
    erase_personal_data,
    linked_cases,
)
from casewatch.cases.tables import EventRow
from casewatch.service import accounts, audit, case_reviews, oidc, two_factor
from casewatch.service.access import CaseScope, Operator, Principal
from casewatch.service.audit import AuditEntry
from casewatch.service.case_reviews import ReviewRow
from casewatch.service.deployment import OidcSettings
from casewatch.service.oidc import Pending, Provider, Started
from casewatch.service.runtime import Runtime
from casewatch.service.tables import AlertAcknowledgementRow, CaseShareRow
from casewatch.service.views import CaseView


@frozen
class SqlCases:
    conn: Connection
    runtime: Runtime

    def scope(self, case_id: str) -> CaseScope | None:
        return case_view.case_scope(self.conn, case_id)

    def facts(self, case_id: str) -> CaseFacts | None:
        return case_view.case_facts(self.conn, case_id)

    def view(
        self,
        facts: CaseFacts,
        as_of: datetime,
        *,
        victim: Mapping[str, Any] | None,
        shared_with: Sequence[str],
        other_cases: Sequence[str] | None,
    ) -> CaseView:
        return case_view.replay_case(
            self.conn,
            self.runtime,
            facts,
            as_of,
            victim=victim,
            shared_with=shared_with,
            other_cases=other_cases,
        )

    def victim(self, case_id: str) -> dict[str, Any] | None:
        return case_view.victim_data(self.conn, case_id)

    def linked(self, case_id: str) -> list[str]:
        return list(linked_cases(self.conn, [case_id]).get(case_id, []))

    def share(self, case_id: str, agency: str, *, at: datetime, by: int) -> None:
        # A share made at the same instant by someone else is the same share.
        self.conn.execute(
            upsert_insert(self.conn, CaseShareRow)
            .values(case_id=case_id, agency=agency, shared_at=at, shared_by=by)
            .on_conflict_do_nothing()
        )

    def page(self, who: Principal, filters: CaseFilters, now: datetime) -> list[CaseSummary]:
        return case_list.list_cases(self.conn, who, filters, now, self.runtime.config.timezone)

    def count(self, who: Principal, filters: CaseFilters, now: datetime) -> int:
        return case_list.count_cases(self.conn, who, filters, now)

    def team_counts(self, who: Principal, filters: CaseFilters, now: datetime) -> list[TeamCounts]:
        return case_list.team_counts(self.conn, who, filters, now)

    def reviews_in_progress(self, who: Principal, now: datetime) -> list[ReviewRow]:
        return case_reviews.reviews_in_progress(
            self.conn, who, now, self.runtime.config.case_review
        )

    def case_review(self, case_id: str, now: datetime) -> dict[str, Any]:
        return case_reviews.case_review_of(self.conn, case_id, now, self.runtime.config.case_review)

    def latest_event_at(self) -> datetime | None:
        latest: datetime | None = self.conn.execute(
            select(func.max(EventRow.at))
        ).scalar_one_or_none()
        return latest

    def holding_personal_data(self, case_type: str, closed_by: datetime) -> list[HeldPersonalData]:
        return closed_cases_holding_personal_data(self.conn, case_type, closed_by)

    def erase_personal_data(self, case_id: str, now: datetime) -> int:
        return erase_personal_data(self.conn, case_id, now)


@frozen
class SqlAlerts:
    conn: Connection
    runtime: Runtime

    def inbox(
        self,
        who: Principal,
        *,
        include_acknowledged: bool,
        only: int | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
    ) -> list[AlertItem]:
        return inbox.my_alerts(
            self.conn,
            who,
            self.runtime.config.timezone,
            include_acknowledged=include_acknowledged,
            only=only,
            limit=limit,
            offset=offset,
        )

    def count(self, who: Principal, *, include_acknowledged: bool) -> int:
        return inbox.count_alerts(self.conn, who, include_acknowledged=include_acknowledged)

    def acknowledge(self, alert_id: int, *, by: int, at: datetime) -> None:
        self.conn.execute(
            upsert_insert(self.conn, AlertAcknowledgementRow)
            .values(alert_id=alert_id, user_id=by, at=at)
            .on_conflict_do_nothing()
        )


@frozen
class SqlAudit:
    conn: Connection
    runtime: Runtime

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
        audit.record(
            self.conn,
            who,
            action,
            now=now,
            address=address,
            case_id=case_id,
            detail=detail,
            username=username,
        )

    def entries(self, *, case_id: str | None, username: str | None, limit: int) -> list[AuditEntry]:
        return audit.entries(
            self.conn, self.runtime.config.timezone, case_id=case_id, username=username, limit=limit
        )


@frozen
class SqlUsers:
    conn: Connection

    def authenticate(
        self, username: str, password: str, address: str, now: datetime
    ) -> Principal | None:
        return accounts.authenticate(self.conn, username, password, address, now)

    def clear_failures(self, username: str) -> None:
        accounts.clear_failures(self.conn, username)

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        two_factor.record_failure(self.conn, username, address, now)

    def throttled(self, username: str, address: str, now: datetime) -> bool:
        return accounts.throttled(self.conn, username, address, now)

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
        accounts.add_user(
            self.conn,
            username=username,
            display_name=display_name,
            role=role,
            agency=agency,
            teams=teams,
            password=password,
            now=now,
        )

    def everyone(self) -> list[Principal]:
        return accounts.list_users(self.conn)

    def set_password(self, username: str, password: str) -> None:
        accounts.set_password(self.conn, username, password)

    def issue_token(self, username: str, name: str, now: datetime) -> str:
        return accounts.issue_token(self.conn, username, name, now)

    def reset_two_factor(self, username: str) -> bool:
        return two_factor.reset(self.conn, username)

    def two_factor_enrolled(self, user_id: int) -> bool:
        return two_factor.enrolled(self.conn, user_id)

    def verify_code(self, user_id: int, code: str, now: datetime) -> str | None:
        return two_factor.verify(self.conn, user_id, code, now)

    def pending_secret(self, user_id: int) -> str:
        return two_factor.pending_secret(self.conn, user_id)

    def confirm_enrolment(self, user_id: int, code: str, now: datetime) -> list[str] | None:
        return two_factor.confirm_enrolment(self.conn, user_id, code, now)

    def recovery_codes_left(self, user_id: int) -> int:
        return two_factor.recovery_codes_left(self.conn, user_id)

    def oidc_person(self, settings: OidcSettings, claims: Mapping[str, Any]) -> Principal:
        return oidc.person_for(self.conn, settings, claims)


@frozen
class SqlSessions:
    conn: Connection

    def start(self, user_id: int, now: datetime, stage: str = "full") -> tuple[str, str]:
        return accounts.start_session(self.conn, user_id, now, stage)

    def end(self, token: str) -> None:
        accounts.end_session(self.conn, token)

    def principal(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        return accounts.session_principal(self.conn, token, now)

    def enrolling(self, token: str, now: datetime) -> tuple[Principal, str] | None:
        return two_factor.enrolment_session(self.conn, token, now)

    def token_principal(self, token: str) -> Principal | None:
        return accounts.token_principal(self.conn, token)

    def start_oidc(
        self,
        settings: OidcSettings,
        *,
        provider: Provider,
        redirect_uri: str,
        next_path: str,
        now: datetime,
    ) -> Started:
        return oidc.start(
            self.conn,
            settings,
            provider=provider,
            redirect_uri=redirect_uri,
            next_path=next_path,
            now=now,
        )

    def take_oidc(
        self, state: str, cookie: str, now: datetime, *, provider_error: str | None
    ) -> Pending:
        return oidc.take_request(self.conn, state, cookie, now, provider_error)


def bind(conn: Connection, runtime: Runtime) -> tuple[Cases, Alerts, Audit, Users, Sessions]:
    """The repositories of one transaction (SqlUnitOfWork's binder)."""
    return (
        SqlCases(conn, runtime),
        SqlAlerts(conn, runtime),
        SqlAudit(conn, runtime),
        SqlUsers(conn),
        SqlSessions(conn),
    )
