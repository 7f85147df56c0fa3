"""Access and audit decisions of the application layer's handlers, on an in-memory unit
of work: who may see and change what, and exactly which audit rows each request leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casewatch.app.case_list import CaseFilters
from casewatch.app.commands import (
    AcknowledgeAlert,
    AddUser,
    ApplyRetention,
    EraseCase,
    IssueToken,
    OpenCase,
    RecordEvent,
    ResetTwoFactor,
    SetPassword,
    ShareCase,
    SignedIn,
    SignIn,
    SignInRefusal,
    SignOut,
)
from casewatch.app.errors import ForbiddenError, InvalidEventError, NotFoundError
from casewatch.app.queries import CountInbox, Inbox, ListCases, ViewCase, ViewTeam
from casewatch.cases.problems import Problem
from casewatch.service import accounts
from casewatch.service.access import Action, Operator, Principal, Role
from casewatch.service.config import Config
from tests.unit.fakes import NOW, Alert, Store, fake_application

CASEWORKER = Principal(1, "cw.north", "CW", Role.CASEWORKER, "council", ["asb-north"])
OTHER_TEAM = Principal(2, "cw.south", "CW2", Role.CASEWORKER, "housing", ["asb-south"])
MANAGER = Principal(3, "mgr.north", "Mgr", Role.MANAGER, "council", ["asb-north", "da-idva"])
PSG = Principal(4, "psg.chair", "PSG", Role.PSG, "csp", [])
ADMIN = Principal(5, "admin", "Admin", Role.ADMIN, "csp", [])
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store() -> Store:
    store = Store()
    store.add_case("ASB-1", "asb-north", caseworker="cw.north", victim={"name": "Ada"})
    store.add_case("ASB-2", "asb-south", caseworker="cw.south", victim={"name": "Ada"})
    store.add_case("DA-1", "da-idva", case_type="domestic_abuse")
    store.links = {"ASB-1": ["ASB-2", "DA-1"]}
    store.alerts = [
        Alert(1, "ASB-1", "warning", ("caseworker",)),
        Alert(2, "ASB-1", "breach", ("team_manager",)),
        Alert(3, "ASB-2", "breach", ("team_manager",)),
        Alert(4, "DA-1", "escalation", ("service_manager", "psg_chair")),
    ]
    for who in (CASEWORKER, MANAGER):
        store.passwords[who.username] = (who, PASSWORD)
    return store


def test_a_caseworker_outside_the_team_is_told_not_found_and_nothing_is_audited(
    store: Store, config: Config
) -> None:
    """Another team's case is NotFound, never Forbidden, and leaves no audit row."""
    app, _ = fake_application(store, config)
    with pytest.raises(NotFoundError):
        app.handle(ViewCase(OTHER_TEAM, "ASB-1", "10.0.0.1"))
    with pytest.raises(NotFoundError):
        app.handle(ViewCase(CASEWORKER, "NO-SUCH-CASE", "10.0.0.1"))
    assert store.audit == []


def test_a_view_writes_exactly_one_case_view_row(store: Store, config: Config) -> None:
    """One view, one committed `case.view` row naming the case, the address and whether
    personal data was shown."""
    app, _ = fake_application(store, config)
    view = app.handle(ViewCase(CASEWORKER, "ASB-1", "10.0.0.1"))
    assert view.victim == {"name": "Ada"}
    assert [(r.action, r.case_id, r.detail, r.address) for r in store.audit] == [
        ("case.view", "ASB-1", {"personal_data": True}, "10.0.0.1")
    ]


def test_linked_cases_are_listed_only_where_the_reader_may_see_them(
    store: Store, config: Config
) -> None:
    """The victim's other cases shown to a caseworker leave out another team's case; a
    PSG sees neither the victim nor the linked cases."""
    app, _ = fake_application(store, config)
    assert app.handle(ViewCase(CASEWORKER, "ASB-1", None)).other_cases == []
    assert app.handle(ViewCase(MANAGER, "ASB-1", None)).other_cases == ["DA-1"]
    psg_view = app.handle(ViewCase(PSG, "ASB-1", None))
    assert (psg_view.victim, psg_view.other_cases) == (None, None)
    assert store.audit[-1].detail == {"personal_data": False}


def test_a_refused_share_writes_no_row_and_a_repeated_share_one(
    store: Store, config: Config
) -> None:
    """A caseworker the case is shared with may not share it on; the owning team's
    share is audited once, sharing again changes nothing."""
    store.add_case("ASB-3", "asb-north", shared_with=["housing"])
    app, _ = fake_application(store, config)
    with pytest.raises(ForbiddenError):
        app.handle(ShareCase(OTHER_TEAM, "ASB-3", "police", None))
    with pytest.raises(NotFoundError):
        app.handle(ShareCase(OTHER_TEAM, "ASB-1", "police", None))
    assert store.audit == []
    assert app.handle(ShareCase(CASEWORKER, "ASB-1", "police", None)) == ["police"]
    assert app.handle(ShareCase(CASEWORKER, "ASB-1", "police", None)) == ["police"]
    assert app.handle(ShareCase(CASEWORKER, "ASB-1", "council", None)) == ["police"]
    assert [(r.action, r.detail) for r in store.audit] == [("case.share", {"agency": "police"})]
    assert store.cases["ASB-1"].shared_with == {"police"}


def test_acknowledging_twice_writes_one_row(store: Store, config: Config) -> None:
    """The second acknowledgement returns the first one's and is not audited again."""
    app, _ = fake_application(store, config)
    first = app.handle(AcknowledgeAlert(MANAGER, 2, "10.0.0.2"))
    second = app.handle(AcknowledgeAlert(MANAGER, 2, "10.0.0.2"))
    assert first.acknowledged_at is not None
    assert second.acknowledged_at == first.acknowledged_at
    assert [(r.action, r.case_id, r.detail) for r in store.audit] == [
        ("alert.acknowledge", "ASB-1", {"alert": 2, "level": "breach"})
    ]


def test_an_alert_not_in_the_inbox_cannot_be_acknowledged(store: Store, config: Config) -> None:
    """Another role's alert, another team's alert and an id past bigint are NotFound;
    an admin has no inbox at all."""
    app, _ = fake_application(store, config)
    for alert_id in (1, 3, 2**63):
        with pytest.raises(NotFoundError):
            app.handle(AcknowledgeAlert(MANAGER, alert_id, None))
    with pytest.raises(ForbiddenError):
        app.handle(AcknowledgeAlert(ADMIN, 2, None))
    assert store.audit == []
    assert store.acknowledged == {}


def test_a_managers_inbox_holds_the_alerts_for_their_role_and_teams(
    store: Store, config: Config
) -> None:
    """Manager alerts on the manager's teams only, newest first; the caseworker's alert
    is not among them, nor another team's; an admin is refused."""
    app, _ = fake_application(store, config)
    assert [a.id for a in app.handle(Inbox(MANAGER))] == [4, 2]
    assert app.handle(CountInbox(MANAGER)) == 2
    assert [a.id for a in app.handle(Inbox(CASEWORKER))] == [1]
    assert [a.id for a in app.handle(Inbox(PSG))] == [4]
    with pytest.raises(ForbiddenError):
        app.handle(Inbox(ADMIN))
    app.handle(AcknowledgeAlert(MANAGER, 4, None))
    assert [a.id for a in app.handle(Inbox(MANAGER))] == [2]
    assert [a.id for a in app.handle(Inbox(MANAGER, include_acknowledged=True))] == [4, 2]


def test_lists_are_audited_once_with_the_filters_set(store: Store, config: Config) -> None:
    """A case list records the filters someone set and how many cases it showed; an
    admin may not list cases and leaves no row."""
    app, _ = fake_application(store, config)
    page = app.handle(ListCases(MANAGER, CaseFilters(team="asb-north", limit=1), None))
    assert (len(page.cases), page.total) == (1, 2)
    with pytest.raises(ForbiddenError):
        app.handle(ListCases(ADMIN, CaseFilters(), None))
    assert [(r.action, r.detail) for r in store.audit] == [
        ("case.list", {"filters": {"team": "asb-north", "limit": 1}, "cases": 1})
    ]


def test_the_team_dashboard_is_a_managers_and_audited_as_a_list(
    store: Store, config: Config
) -> None:
    """Every team of the manager's gets a line (none for other teams); a caseworker is
    refused without a row."""
    app, _ = fake_application(store, config)
    with pytest.raises(ForbiddenError):
        app.handle(ViewTeam(CASEWORKER, None))
    summary = app.handle(ViewTeam(MANAGER, None))
    assert [(t.team, t.cases) for t in summary.teams] == [("asb-north", 1), ("da-idva", 1)]
    assert summary.alerts_waiting == 2
    assert store.actions() == ["case.list"]


def test_recording_an_event_is_audited_with_the_event(store: Store, config: Config) -> None:
    """The audit row is written by the event's own transaction; a refused event, an
    unseen case and a role that may not edit leave no event and no row."""
    app, events = fake_application(store, config)
    body = {"type": "contact_attempted", "method": "call"}
    with pytest.raises(NotFoundError):
        app.handle(RecordEvent(OTHER_TEAM, "ASB-1", body, None))
    with pytest.raises(ForbiddenError):
        app.handle(RecordEvent(PSG, "ASB-1", body, None))
    with pytest.raises(InvalidEventError):
        app.handle(RecordEvent(CASEWORKER, "ASB-1", {**body, "case_id": "ASB-2"}, None))
    events.refuse_with = [Problem("method", "'method' must be one of call, visit")]
    with pytest.raises(InvalidEventError) as refused:
        app.handle(RecordEvent(CASEWORKER, "ASB-1", body, None))
    assert refused.value.fields() == [("method", "'method' must be one of call, visit")]
    assert (store.events, store.audit) == ([], [])
    events.refuse_with = None
    app.handle(RecordEvent(CASEWORKER, "ASB-1", {**body, "event_id": "e-1"}, "10.0.0.3"))
    assert [e["case_id"] for e in store.events] == ["ASB-1"]
    detail = {"event_id": "e-1", "type": "contact_attempted", "duplicate": False}
    assert [(r.action, r.case_id, r.detail) for r in store.audit] == [
        ("event.record", "ASB-1", detail)
    ]


def test_a_case_is_opened_only_in_ones_own_teams(store: Store, config: Config) -> None:
    """Another team is refused in words naming the teams, before anything is written."""
    app, _ = fake_application(store, config)
    with pytest.raises(InvalidEventError) as refused:
        app.handle(OpenCase(CASEWORKER, {"case_type": "asb", "team": "asb-south"}, None))
    assert refused.value.fields() == [("team", "you can open cases only in your teams: asb-north")]
    with pytest.raises(ForbiddenError):
        app.handle(OpenCase(PSG, {"case_type": "asb", "team": "asb-north"}, None))
    assert (store.events, store.audit) == ([], [])


def test_signing_in_and_out_is_audited_every_time(store: Store, config: Config) -> None:
    """A wrong password is a refusal row and no session; a right one a session and a
    sign-in row; signing out ends the session with its own row."""
    app, _ = fake_application(store, config)
    refused = app.handle(SignIn("cw.north", "wrong", "", "10.0.0.4"))
    assert refused == SignInRefusal(throttled=False)
    assert store.sessions == {}
    signed = app.handle(SignIn("cw.north", PASSWORD, "", "10.0.0.4"))
    assert isinstance(signed, SignedIn)
    assert signed.stage == "full"
    assert store.sessions == {signed.token: (CASEWORKER, "full")}
    app.handle(SignOut(CASEWORKER, signed.token, "10.0.0.4"))
    assert store.sessions == {}
    assert [(r.username, r.action, r.detail) for r in store.audit] == [
        ("cw.north", "user.sign_in_refused", {"throttled": False}),
        ("cw.north", "user.sign_in", {}),
        ("cw.north", "user.sign_out", {}),
    ]


def test_only_an_admin_adds_people(store: Store, config: Config) -> None:
    """A manager is refused without a row; the admin's addition is audited with the
    username and role only."""
    app, _ = fake_application(store, config)
    person = {"username": "new.person", "display_name": "New", "role": "caseworker",
              "agency": "council", "teams": ["asb-north"], "password": PASSWORD}  # fmt: skip
    with pytest.raises(ForbiddenError):
        app.handle(AddUser(MANAGER, **person))
    app.handle(AddUser(ADMIN, **person))
    assert [(r.action, r.detail) for r in store.audit] == [
        ("user.add", {"username": "new.person", "role": "caseworker"})
    ]


def test_an_operator_at_the_console_is_audited_by_the_name_given(
    store: Store, config: Config
) -> None:
    """The `users` commands go through the same handlers: each change is one row under the
    operator's name from "cli", naming the person but never the password or the token."""
    app, _ = fake_application(store, config)
    operator = Operator("j.admin")
    app.handle(AddUser(operator, "new.person", "New", "psg", "csp", [], PASSWORD))
    app.handle(SetPassword(operator, "cw.north", "another long password"))
    token = app.handle(IssueToken(operator, "cw.north", "case system"))
    assert app.handle(ResetTwoFactor(operator, "mgr.north")) is True
    assert app.handle(ResetTwoFactor(operator, "nobody")) is False
    with pytest.raises(accounts.AccountError):
        app.handle(SetPassword(operator, "nobody", "another long password"))
    assert [(r.username, r.address, r.action, r.detail) for r in store.audit] == [
        ("j.admin", "cli", "user.add", {"username": "new.person", "role": "psg"}),
        ("j.admin", "cli", "user.password", {"username": "cw.north"}),
        ("j.admin", "cli", "token.issue", {"username": "cw.north", "name": "case system"}),
        ("j.admin", "cli", "user.two_factor_reset", {"username": "mgr.north"}),
    ]
    assert token not in repr(store.audit)
    assert store.passwords["cw.north"][1] == "another long password"


def test_an_operator_may_not_act_as_a_person_and_a_person_may_not_erase() -> None:
    """The console's actions and the people's are separate: no role erases personal data,
    and an operator is no caseworker or manager."""
    for role in Role:
        assert not Principal(9, "p", "P", role, "csp", []).may(Action.ERASE_PERSONAL_DATA)
    assert Operator().may(Action.ERASE_PERSONAL_DATA)
    assert Operator().may(Action.MANAGE_USERS)
    assert not any(Operator().may(a) for a in (Action.LIST_CASES, Action.VIEW_ALERTS))


def test_an_erasure_is_audited_with_its_reason_and_a_second_erases_nothing(
    store: Store, config: Config
) -> None:
    app, _ = fake_application(store, config)
    with pytest.raises(NotFoundError):
        app.handle(EraseCase(Operator("dpo"), "NOPE-1", "SAR-17"))
    assert app.handle(EraseCase(Operator("dpo"), "ASB-1", "SAR-17")) == 1
    assert app.handle(EraseCase(Operator("dpo"), "ASB-1", "SAR-17")) == 0
    assert "ASB-1" not in store.victims
    assert [(r.username, r.case_id, r.detail) for r in store.audit] == [
        ("dpo", "ASB-1", {"reason": "SAR-17", "records_erased": 1}),
        ("dpo", "ASB-1", {"reason": "SAR-17", "records_erased": 0}),
    ]


def test_retention_erases_only_what_is_due_and_a_dry_run_nothing(
    store: Store, config: Config
) -> None:
    """A case closed long enough ago is due; one closed yesterday is not; a dry run lists
    the due case and leaves no row and no erasure."""
    store.closed_at = {"ASB-1": datetime(2005, 1, 1, tzinfo=UTC), "ASB-2": NOW - timedelta(days=1)}
    app, _ = fake_application(store, config)
    listed = app.handle(ApplyRetention(Operator("retention"), NOW, dry_run=True))
    assert ([d.case_id for d in listed.due], listed.erased) == (["ASB-1"], 0)
    assert store.audit == [] and "ASB-1" in store.victims
    done = app.handle(ApplyRetention(Operator("retention"), NOW))
    assert ([d.case_id for d in done.due], done.erased) == (["ASB-1"], 1)
    assert "ASB-1" not in store.victims and "ASB-2" in store.victims
    assert [(r.username, r.action, r.detail["reason"]) for r in store.audit] == [
        ("retention", "case.erase", config.retention.describe("asb"))
    ]


def test_messages_never_show_secrets_or_victim_details() -> None:
    """A command's repr (as a log or traceback would show it) leaves out passwords,
    codes, tokens and event bodies."""
    shown = " ".join(
        repr(message)
        for message in (
            SignIn("cw.north", "hunter2-password", "123456", "10.0.0.5"),
            SignOut(CASEWORKER, "session-token-value", "10.0.0.5"),
            OpenCase(CASEWORKER, {"team": "asb-north", "victim": {"name": "Ada Lovelace"}}, None),
            RecordEvent(CASEWORKER, "ASB-1", {"notes": "Ada Lovelace"}, None),
            AddUser(ADMIN, "p", "P", "psg", "csp", [], "hunter2-password"),
            SetPassword(Operator(), "p", "hunter2-password"),
        )
    )
    for secret in ("hunter2-password", "123456", "session-token-value", "Ada Lovelace"):
        assert secret not in shown
    assert "cw.north" in shown


def test_a_role_that_must_use_two_factor_gets_an_enrolment_session(
    store: Store, config: Config
) -> None:
    """A manager's right password, under the shipped settings, starts a session at the
    enrolment stage, audited as two-factor required, not as a sign-in."""
    assert "manager" in config.sign_in.two_factor_roles
    app, _ = fake_application(store, config)
    signed = app.handle(SignIn("mgr.north", PASSWORD, "", "10.0.0.6"))
    assert isinstance(signed, SignedIn)
    assert signed.stage == "enrol"
    assert store.actions() == ["user.two_factor_required"]
