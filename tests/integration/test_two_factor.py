"""Two-factor sign-in under the shipped setting (admins and managers must use it), on both
databases, with real codes computed from the secret the enrolment page shows."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
from attrs import define
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from casewatch.service.deployment import DEFAULT_SIGN_IN
from casewatch.service.tables import AuditRow, RecoveryCodeRow, UserRow
from casewatch.service.web.app import create_app
from tests.cli import casewatch
from tests.web import NOW, PASSWORD, PEOPLE, Site, api_token, make_site


@define
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@define
class TwoFactorSite:
    site: Site
    app: Litestar
    clock: Clock

    def client(self) -> TestClient[Litestar]:
        return TestClient(self.app)

    def actions(self) -> list[tuple[str, str]]:
        with self.site.runtime.engine.connect() as conn:
            rows = conn.execute(select(AuditRow.action, AuditRow.username).order_by(AuditRow.id))
            return [(row.action, row.username) for row in rows]


@pytest.fixture
def shipped(db_url: str) -> Iterator[TwoFactorSite]:
    """No events; the shipped sign-in setting; a clock the test moves."""
    assert DEFAULT_SIGN_IN.two_factor_roles == {"admin", "manager"}
    for site in make_site(db_url, events=None, two_factor_roles=DEFAULT_SIGN_IN.two_factor_roles):
        clock = Clock(NOW)
        yield TwoFactorSite(site, create_app(site.runtime, clock=clock), clock)


def sign_in(client: TestClient[Litestar], who: str, code: str = "") -> Any:
    """POST the sign-in form as a browser would, echoing the form's hidden fields."""
    form = client.get("/login")
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.text))
    fields = hidden | {"username": PEOPLE[who].username, "password": PASSWORD, "code": code}
    return client.post("/login", data=fields, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def enrol(shipped: TwoFactorSite, client: TestClient[Litestar], who: str) -> tuple[str, list[str]]:
    """Sign in with the password, read the secret off the page, confirm a real code."""
    response = sign_in(client, who)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/two-factor"
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    assert "<svg" in page.text, "the QR code is drawn on the page"
    found = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text)
    assert found
    secret = found.group(1).replace(" ", "")
    code = pyotp.TOTP(secret).at(shipped.clock.now)
    done = client.post("/account/two-factor", data={"csrf_token": csrf_of(page.text), "code": code})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    return secret, codes


def test_a_manager_must_set_up_two_factor_before_anything_else(shipped: TwoFactorSite) -> None:
    """After the password, only the enrolment page opens; a real code turns it on."""
    client = shipped.client()
    response = sign_in(client, "manager")
    assert response.headers["location"] == "/account/two-factor"
    blocked = client.get("/team", follow_redirects=False)
    assert blocked.status_code in {302, 303}
    assert blocked.headers["location"].startswith("/login")
    assert client.get("/api/v1/cases").status_code == 401
    _secret, codes = enrol(shipped, client, "manager")
    assert len(codes) == 10
    assert client.get("/team").status_code == 200
    assert ("user.two_factor_required", "mgr.north") in shipped.actions()
    assert ("user.two_factor_enrolled", "mgr.north") in shipped.actions()


def test_codes_from_the_secret_sign_in_once_each(shipped: TwoFactorSite) -> None:
    """The current code works; the same code again is refused; the next step's works."""
    secret, _ = enrol(shipped, shipped.client(), "admin")
    totp = pyotp.TOTP(secret)
    shipped.clock.now = NOW + timedelta(minutes=5)
    first = shipped.client()
    assert sign_in(first, "admin").status_code == 401
    code = totp.at(shipped.clock.now)
    ok = sign_in(first, "admin", code)
    assert ok.status_code == 303, ok.text
    assert first.get("/admin/users").status_code == 200
    replay = sign_in(shipped.client(), "admin", code)
    assert replay.status_code == 401
    assert "The username, password or code is not right." in replay.text
    shipped.clock.now += timedelta(seconds=30)
    later = sign_in(shipped.client(), "admin", totp.at(shipped.clock.now))
    assert later.status_code == 303
    refusals = [a for a in shipped.actions() if a == ("user.sign_in_refused", "admin")]
    assert len(refusals) == 2  # no code, then the replayed one


def test_a_code_from_long_ago_or_another_secret_is_refused(shipped: TwoFactorSite) -> None:
    """Only the steps either side of now count; another secret's code never does."""
    secret, _ = enrol(shipped, shipped.client(), "manager")
    shipped.clock.now = NOW + timedelta(hours=1)
    stale = pyotp.TOTP(secret).at(shipped.clock.now - timedelta(minutes=2))
    assert sign_in(shipped.client(), "manager", stale).status_code == 401
    fullwidth = "\uff11\uff12\uff13\uff14\uff15\uff16"  # digits, but not ASCII ones
    assert sign_in(shipped.client(), "manager", fullwidth).status_code == 401
    other = pyotp.TOTP(pyotp.random_base32()).at(shipped.clock.now)
    assert sign_in(shipped.client(), "manager", other).status_code == 401
    drifted = pyotp.TOTP(secret).at(shipped.clock.now - timedelta(seconds=30))
    assert sign_in(shipped.client(), "manager", drifted).status_code == 303


def test_wrong_codes_are_throttled_like_wrong_passwords(shipped: TwoFactorSite) -> None:
    """Five wrong codes in 15 minutes: even the right code is then refused with a 429."""
    secret, _ = enrol(shipped, shipped.client(), "manager")
    shipped.clock.now = NOW + timedelta(minutes=1)
    for _ in range(5):
        assert sign_in(shipped.client(), "manager", "000000").status_code == 401
    right = sign_in(shipped.client(), "manager", pyotp.TOTP(secret).at(shipped.clock.now))
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.text


def test_recovery_codes_are_stored_hashed_and_work_once(shipped: TwoFactorSite) -> None:
    """A recovery code signs in in place of the app's code, once; only hashes are stored."""
    _secret, codes = enrol(shipped, shipped.client(), "manager")
    with shipped.site.runtime.engine.connect() as conn:
        stored = set(conn.execute(select(RecoveryCodeRow.code_hash)).scalars())
    plain = {code.replace("-", "") for code in codes}
    assert stored == {hashlib.sha256(p.encode()).hexdigest() for p in plain}
    shipped.clock.now = NOW + timedelta(minutes=1)
    assert sign_in(shipped.client(), "manager", codes[3]).status_code == 303
    assert sign_in(shipped.client(), "manager", codes[3]).status_code == 401


def test_a_wrong_enrolment_code_is_refused_in_words_and_audited(shipped: TwoFactorSite) -> None:
    """Two-factor stays off, the same QR code is shown again, and the refusal is recorded."""
    client = shipped.client()
    sign_in(client, "admin")
    page = client.get("/account/two-factor")
    wrong = client.post(
        "/account/two-factor", data={"csrf_token": csrf_of(page.text), "code": "12345x"}
    )
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    shown = re.compile(r'class="secret">([^<]+)<')
    assert shown.findall(wrong.text) == shown.findall(page.text) != []
    odd = ("\uff11\uff12\uff13\uff14\uff15\uff16", "12 34 5\u00e9", "\u0663" * 6)
    for typed in odd:  # not ASCII digits: simply wrong
        answer = client.post(
            "/account/two-factor", data={"csrf_token": csrf_of(page.text), "code": typed}
        )
        assert answer.status_code == 400
        assert "That code is not right" in answer.text
    forged = client.post("/account/two-factor", data={"csrf_token": "forged", "code": "123456"})
    assert forged.status_code == 403
    assert ("user.two_factor_refused", "admin") in shipped.actions()
    with shipped.site.runtime.engine.connect() as conn:
        enabled = conn.execute(
            select(UserRow.totp_enabled_at).where(UserRow.username == "admin")
        ).scalar_one()
    assert enabled is None


def test_caseworkers_sign_in_with_a_password_and_may_opt_in(shipped: TwoFactorSite) -> None:
    """Not required for caseworkers; once one turns it on, the password alone is refused."""
    client = shipped.client()
    assert sign_in(client, "caseworker").headers["location"] == "/cases"
    page = client.get("/account/two-factor")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    code = pyotp.TOTP(secret.replace(" ", "")).at(shipped.clock.now)
    assert (
        client.post(
            "/account/two-factor", data={"csrf_token": csrf_of(page.text), "code": code}
        ).status_code
        == 200
    )
    shipped.clock.now = NOW + timedelta(minutes=1)
    assert sign_in(shipped.client(), "caseworker").status_code == 401


def test_api_tokens_need_no_code(shipped: TwoFactorSite) -> None:
    """An integration's token for a manager who never enrolled works as before."""
    token = api_token(shipped.site.runtime, "manager")
    response = shipped.client().get("/api/v1/cases", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_an_operator_resets_two_factor_for_a_lost_phone(shipped: TwoFactorSite) -> None:
    """`users reset-two-factor` ends the sessions; the next sign-in enrols afresh."""
    client = shipped.client()
    enrol(shipped, client, "manager")
    outcome = casewatch("users", "reset-two-factor", "mgr.north", db=shipped.site.runtime.url)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.json() == {"username": "mgr.north", "two_factor": "off"}
    assert client.get("/team", follow_redirects=False).status_code in {302, 303}
    shipped.clock.now = NOW + timedelta(minutes=1)
    again = sign_in(shipped.client(), "manager")
    assert again.headers["location"] == "/account/two-factor"
    assert ("user.two_factor_reset", "cli") in shipped.actions()
    unknown = casewatch("users", "reset-two-factor", "nobody", db=shipped.site.runtime.url)
    assert unknown.exit_code != 0
    assert "no user 'nobody'" in unknown.stderr
