"""Commands: what people ask casewatch to change. Each carries the principal (or what
identifies them) and the request's address, for the access decision and the audit row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from casewatch.app.inbox import AlertItem
from casewatch.app.messages import Message
from casewatch.service.access import Operator, Principal
from casewatch.service.deployment import OidcSettings
from casewatch.service.oidc import Pending, Provider, Started
from casewatch.service.retention import DueErasure
from casewatch.service.views import CaseView


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@frozen
class OpenCase(Message[CaseView]):
    """Open a case from the body of a `case_opened` event (without its type)."""

    who: Principal
    body: Mapping[str, Any] = field(repr=False)  # may hold the victim's details
    address: str | None = None


@frozen
class RecordEvent(Message[CaseView]):
    """Record any other event on a case."""

    who: Principal
    case_id: str
    body: Mapping[str, Any] = field(repr=False)  # may hold free text about people
    address: str | None = None


@frozen
class ShareCase(Message[list[str]]):
    """Share a case with another agency; the agencies it is shared with after."""

    who: Principal
    case_id: str
    agency: str
    address: str | None


@frozen
class AcknowledgeAlert(Message[AlertItem]):
    who: Principal
    alert_id: int
    address: str | None


@frozen
class SignedIn:
    """A right password (and code): the session to set, at its stage."""

    who: Principal
    token: str = field(repr=False)
    stage: str = "full"


@frozen
class SignInRefusal:
    throttled: bool


@frozen
class SignIn(Message[SignedIn | SignInRefusal]):
    """A password (and, for people using two-factor sign-in, a code) from the form."""

    username: str
    password: str = field(repr=False)
    code: str = field(repr=False)
    address: str = "-"


@frozen
class RefuseSignIn(Message[None]):
    """A sign-in refused before any password was looked at (recorded, nothing else)."""

    username: str
    address: str
    detail: Mapping[str, Any]


@frozen
class RefuseScrape(Message[None]):
    """A /metrics scrape from an address not allowed and without the token."""

    address: str


@frozen
class SignOut(Message[None]):
    who: Principal
    token: str = field(repr=False)
    address: str = "-"


@frozen
class AddUser(Message[None]):
    """An administrator (or an operator at the console) adds a person; raises
    accounts.AccountError in words."""

    who: Principal | Operator
    username: str
    display_name: str
    role: str
    agency: str
    teams: tuple[str, ...] = field(converter=_texts)
    password: str = field(repr=False, default="")
    address: str | None = None


@frozen
class SetPassword(Message[None]):
    """An operator sets someone's password; raises accounts.AccountError in words."""

    who: Operator
    username: str
    password: str = field(repr=False)


@frozen
class IssueToken(Message[str]):
    """An operator issues an API token; the token is returned once, never audited."""

    who: Operator
    username: str
    name: str


@frozen
class ResetTwoFactor(Message[bool]):
    """An operator switches off someone's two-factor sign-in; False if no such person."""

    who: Operator
    username: str


@frozen
class EraseCase(Message[int]):
    """An operator erases a case's victim details for a reason (a data subject's request,
    say); returns the records erased, 0 when already erased."""

    who: Operator
    case_id: str
    reason: str


@frozen
class Retention:
    due: list[DueErasure]
    erased: int


@frozen
class ApplyRetention(Message[Retention]):
    """An operator applies the retention policy as at a moment (or only lists what is due)."""

    who: Operator
    as_of: datetime
    dry_run: bool = False


@frozen
class Enrolment:
    """Where a person's two-factor set-up stands: enrolled (with codes left), or the
    secret being set up."""

    enrolled: bool
    codes_left: int = 0
    secret: str = field(repr=False, default="")


@frozen
class OpenEnrolment(Message[Enrolment]):
    who: Principal


@frozen
class Enrolled:
    """Two-factor is on: the recovery codes to show once and the full session."""

    recovery_codes: list[str] = field(repr=False)
    token: str = field(repr=False)
    csrf: str = field(repr=False)


@frozen
class EnrolmentRefused:
    throttled: bool
    secret: str = field(repr=False)


@frozen
class ConfirmEnrolment(Message[Enrolled | EnrolmentRefused]):
    """The code from the person's app, confirming the pending secret."""

    who: Principal
    code: str = field(repr=False)
    token: str = field(repr=False)  # the session it replaces
    address: str = "-"


@frozen
class StartOidc(Message[Started]):
    settings: OidcSettings
    provider: Provider
    redirect_uri: str
    next_path: str


@frozen
class TakeOidcRequest(Message[Pending]):
    """The provider's answer brought back: the sign-in it belongs to, used up."""

    state: str = field(repr=False)
    cookie: str = field(repr=False)
    provider_error: str | None = None


@frozen
class OidcSignIn(Message[SignedIn]):
    """The provider's verified claims: sign in the person they name."""

    settings: OidcSettings
    claims: Mapping[str, Any] = field(repr=False)
    address: str = "-"
