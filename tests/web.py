"""The HTTP service under test: an app on a seeded database, people of every role, and
clients that sign in as them (a browser session with its CSRF token, or an API token).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from attrs import evolve, frozen
from litestar import Litestar
from litestar.testing import TestClient

from casewatch.cases.importing import Importer
from casewatch.service import accounts
from casewatch.service.deployment import SignInSettings
from casewatch.service.runtime import Runtime, open_runtime, run_tick
from casewatch.service.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "scenarios" / "seed-2014-15.jsonl"
DEMO = ROOT / "data" / "demo" / "events.jsonl"
PASSWORD: Final = "correct horse battery staple"
NOW: Final = datetime(2015, 4, 1, 11, 0, tzinfo=UTC)  # just after the seed's year ends


@frozen
class Person:
    username: str
    role: str
    agency: str
    teams: tuple[str, ...]


# One of each role, plus people who must NOT see a given case: another team's caseworker
# (in another agency) and another team's manager.
PEOPLE: Final = {
    "caseworker": Person("cw.north", "caseworker", "council", ("asb-north",)),
    "caseworker_da": Person("cw.da", "caseworker", "idva-service", ("da-idva",)),
    "caseworker_other": Person("cw.south", "caseworker", "housing", ("asb-south",)),
    "manager": Person("mgr.north", "manager", "council", ("asb-north", "da-idva")),
    "manager_other": Person("mgr.south", "manager", "housing", ("asb-south",)),
    "psg": Person("psg.chair", "psg", "csp", ()),
    "admin": Person("admin", "admin", "csp", ()),
}


def add_people(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn, conn.begin():
        for person in PEOPLE.values():
            accounts.add_user(
                conn,
                username=person.username,
                display_name=person.username,
                role=person.role,
                agency=person.agency,
                teams=person.teams,
                password=PASSWORD,
                now=NOW,
            )


def seed(runtime: Runtime, path: Path = SEED) -> None:
    importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
    with path.open("rb") as lines:
        summary = importer.run(lines, source=str(path))
    assert summary.rejected == 0, summary.errors[:3]
    run_tick(runtime, NOW)


@frozen
class Site:
    runtime: Runtime
    app: Litestar


def make_site(
    db_url: str, *, events: Path | None = SEED, two_factor_roles: frozenset[str] = frozenset()
) -> Iterator[Site]:
    """The shipped configuration, except that by default no role must use two-factor
    sign-in, so that tests sign in with a password (tests/integration/test_two_factor.py
    covers the shipped default: admins and managers must)."""
    runtime = open_runtime(db_url, None)
    runtime = Runtime(
        config=evolve(runtime.config, sign_in=SignInSettings(two_factor_roles)),
        engine=runtime.engine,
        url=runtime.url,
    )
    add_people(runtime)
    if events is not None:
        seed(runtime, events)
    app = create_app(runtime, clock=lambda: NOW)
    yield Site(runtime, app)
    runtime.engine.dispose()


class Browser:
    """A signed-in browser: its cookie jar holds the session, `csrf` its forms' token."""

    def __init__(self, client: TestClient[Litestar], csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def form(self, path: str, fields: dict[str, str]) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **fields})

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"x-csrf-token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def sign_in(client: TestClient[Litestar], who: str) -> Browser:
    person = PEOPLE[who]
    response = client.post(
        "/login",
        data={
            "username": person.username,
            "password": PASSWORD,
            "next": "/",
            "csrf_token": login_token(client),
        },
    )
    assert response.status_code == 200, response.text[:500]  # the home page, redirected to
    return Browser(client, csrf_of(response.text))


def login_token(client: TestClient[Litestar]) -> str:
    """Open the sign-in form as a browser does: its token, with the cookie in the jar."""
    return csrf_of(client.get("/login").text)


def csrf_of(html: str) -> str:
    """The session's CSRF token, as the server rendered it into the sign-out form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def api_token(runtime: Runtime, who: str) -> str:
    with runtime.engine.connect() as conn, conn.begin():
        return accounts.issue_token(conn, PEOPLE[who].username, "tests", NOW)


def free_port() -> int:
    """A port nothing listens on now, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
