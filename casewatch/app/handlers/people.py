"""Handlers for signing in and out (password, two-factor code, OIDC), setting up
two-factor sign-in, adding people and identifying a request. Every sign-in, refusal and
change is audited here, in the transaction that makes it."""

from __future__ import annotations

from datetime import datetime

from casewatch.app.commands import (
    AddUser,
    ConfirmEnrolment,
    Enrolled,
    Enrolment,
    EnrolmentRefused,
    IssueToken,
    OidcSignIn,
    OpenEnrolment,
    RefuseScrape,
    RefuseSignIn,
    ResetTwoFactor,
    SetPassword,
    SignedIn,
    SignIn,
    SignInRefusal,
    SignOut,
    StartOidc,
    TakeOidcRequest,
)
from casewatch.app.deps import Deps
from casewatch.app.errors import ForbiddenError
from casewatch.app.queries import EnrolmentSession, Identify
from casewatch.app.uow import UnitOfWork
from casewatch.service import accounts, two_factor
from casewatch.service.access import Action, Principal
from casewatch.service.oidc import Pending, Started


def sign_in(command: SignIn, uow: UnitOfWork, deps: Deps) -> SignedIn | SignInRefusal:
    """A right password starts a session: a full one, or (for a role that must use
    two-factor and has not set it up) one that opens only the enrolment page."""
    now, address = deps.clock(), command.address
    with uow:
        try:
            who = uow.users.authenticate(command.username, command.password, address, now)
        except accounts.ThrottledError:
            who, throttled = None, True
        else:
            throttled = False
        if who is not None:
            stage = after_password(uow, who, command.code, deps, address=address, now=now)
            if stage is not None:
                token, _csrf = uow.sessions.start(who.user_id, now, stage)
                if stage == two_factor.FULL:
                    uow.users.clear_failures(command.username)
                    uow.audit.append(who, "user.sign_in", now=now, address=address)
                else:
                    uow.audit.append(who, "user.two_factor_required", now=now, address=address)
                uow.commit()
                return SignedIn(who, token, stage)
        uow.audit.append(
            None,
            "user.sign_in_refused",
            now=now,
            address=address,
            username=command.username,
            detail={"throttled": throttled},
        )
        uow.commit()
    return SignInRefusal(throttled)


def after_password(
    uow: UnitOfWork, who: Principal, code: str, deps: Deps, *, address: str, now: datetime
) -> str | None:
    """The stage of the session to start once the password was right, or None when the
    person uses two-factor and the code is missing or wrong (counted as a failed sign-in)."""
    if uow.users.two_factor_enrolled(who.user_id):
        if uow.users.verify_code(who.user_id, code, now) is None:
            uow.users.record_failure(who.username, address, now)
            return None
        return two_factor.FULL
    required = deps.config.sign_in.two_factor_roles
    return two_factor.ENROL if who.role in required else two_factor.FULL


def refuse_sign_in(command: RefuseSignIn, uow: UnitOfWork, deps: Deps) -> None:
    with uow:
        uow.audit.append(
            None,
            "user.sign_in_refused",
            now=deps.clock(),
            address=command.address,
            username=command.username,
            detail=command.detail,
        )
        uow.commit()


def refuse_scrape(command: RefuseScrape, uow: UnitOfWork, deps: Deps) -> None:
    with uow:
        uow.audit.append(None, "metrics.refused", now=deps.clock(), address=command.address)
        uow.commit()


def sign_out(command: SignOut, uow: UnitOfWork, deps: Deps) -> None:
    with uow:
        uow.sessions.end(command.token)
        uow.audit.append(command.who, "user.sign_out", now=deps.clock(), address=command.address)
        uow.commit()


def add_user(command: AddUser, uow: UnitOfWork, deps: Deps) -> None:
    if not command.who.may(Action.MANAGE_USERS):
        raise ForbiddenError
    now = deps.clock()
    with uow:
        uow.users.add(
            username=command.username.strip(),
            display_name=command.display_name.strip(),
            role=command.role,
            agency=command.agency.strip(),
            teams=[team.strip() for team in command.teams if team.strip()],
            password=command.password,
            now=now,
        )
        uow.audit.append(
            command.who,
            "user.add",
            now=now,
            address=command.address,
            detail={"username": command.username, "role": command.role},
        )
        uow.commit()


def set_password(command: SetPassword, uow: UnitOfWork, deps: Deps) -> None:
    if not command.who.may(Action.MANAGE_USERS):
        raise ForbiddenError
    with uow:
        uow.users.set_password(command.username, command.password)
        uow.audit.append(
            command.who,
            "user.password",
            now=deps.clock(),
            address=None,
            detail={"username": command.username},
        )
        uow.commit()


def issue_token(command: IssueToken, uow: UnitOfWork, deps: Deps) -> str:
    if not command.who.may(Action.MANAGE_USERS):
        raise ForbiddenError
    now = deps.clock()
    with uow:
        token = uow.users.issue_token(command.username, command.name, now)
        uow.audit.append(
            command.who,
            "token.issue",
            now=now,
            address=None,
            detail={"username": command.username, "name": command.name},
        )
        uow.commit()
    return token


def reset_two_factor(command: ResetTwoFactor, uow: UnitOfWork, deps: Deps) -> bool:
    if not command.who.may(Action.MANAGE_USERS):
        raise ForbiddenError
    with uow:
        if not uow.users.reset_two_factor(command.username):
            return False
        uow.audit.append(
            command.who,
            "user.two_factor_reset",
            now=deps.clock(),
            address=None,
            detail={"username": command.username},
        )
        uow.commit()
    return True


def open_enrolment(command: OpenEnrolment, uow: UnitOfWork, deps: Deps) -> Enrolment:
    """Where the set-up stands; a secret is made (once) for someone not yet enrolled."""
    user_id = command.who.user_id
    with uow:
        if uow.users.two_factor_enrolled(user_id):
            return Enrolment(True, codes_left=uow.users.recovery_codes_left(user_id))
        secret = uow.users.pending_secret(user_id)
        uow.commit()
    return Enrolment(False, secret=secret)


def confirm_enrolment(
    command: ConfirmEnrolment, uow: UnitOfWork, deps: Deps
) -> Enrolled | EnrolmentRefused:
    """A right code switches two-factor on and replaces the session by a full one; a
    wrong one counts as a failed sign-in."""
    now, address, who = deps.clock(), command.address, command.who
    with uow:
        throttled = uow.users.throttled(who.username, address, now)
        codes = None if throttled else uow.users.confirm_enrolment(who.user_id, command.code, now)
        if codes is None:
            uow.users.record_failure(who.username, address, now)
            uow.audit.append(who, "user.two_factor_refused", now=now, address=address)
            secret = uow.users.pending_secret(who.user_id)
            uow.commit()
            return EnrolmentRefused(throttled, secret)
        uow.sessions.end(command.token)
        uow.users.clear_failures(who.username)
        token, csrf = uow.sessions.start(who.user_id, now)
        uow.audit.append(who, "user.two_factor_enrolled", now=now, address=address)
        uow.commit()
    return Enrolled(codes, token, csrf)


def start_oidc(command: StartOidc, uow: UnitOfWork, deps: Deps) -> Started:
    with uow:
        started = uow.sessions.start_oidc(
            command.settings,
            provider=command.provider,
            redirect_uri=command.redirect_uri,
            next_path=command.next_path,
            now=deps.clock(),
        )
        uow.commit()
    return started


def take_oidc_request(command: TakeOidcRequest, uow: UnitOfWork, deps: Deps) -> Pending:
    """Used up once taken, whatever follows; a refusal changes nothing."""
    with uow:
        pending = uow.sessions.take_oidc(
            command.state, command.cookie, deps.clock(), provider_error=command.provider_error
        )
        uow.commit()
    return pending


def oidc_sign_in(command: OidcSignIn, uow: UnitOfWork, deps: Deps) -> SignedIn:
    now = deps.clock()
    with uow:
        who = uow.users.oidc_person(command.settings, command.claims)
        token, _csrf = uow.sessions.start(who.user_id, now)
        uow.users.clear_failures(who.username)
        uow.audit.append(
            who, "user.sign_in", now=now, address=command.address, detail={"method": "oidc"}
        )
        uow.commit()
    return SignedIn(who, token, two_factor.FULL)


def identify(query: Identify, uow: UnitOfWork, deps: Deps) -> tuple[Principal, str | None] | None:
    with uow.read_only():
        if query.bearer is not None:
            who = uow.sessions.token_principal(query.bearer)
            return (who, None) if who else None
        if not query.session:
            return None
        return uow.sessions.principal(query.session, deps.clock())


def enrolment_session(
    query: EnrolmentSession, uow: UnitOfWork, deps: Deps
) -> tuple[Principal, str] | None:
    with uow.read_only():
        return uow.sessions.enrolling(query.token, deps.clock())
