"""casewatch behind a TLS proxy, as docs/deployment.md sets it up: Debian's nginx with a
self-signed certificate in front of a real `casewatch serve` on loopback.

nginx reaches casewatch from 127.0.0.2 (`proxy_bind`), the only address listed in
`web.trusted_proxies`; everything else, 127.0.0.1 included, is a client. So the audit trail
must show the client's 127.0.0.1 for a sign-in through nginx, and a request sent straight
to casewatch cannot choose its recorded address or scheme with forged headers. Chromium
reaches nginx as https://casewatch.test (mapped to 127.0.0.1), a name that is not
loopback, so only the proxy's X-Forwarded-Proto can make the session cookie Secure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
from attrs import frozen
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, select

from casewatch.service.tables import AuditRow
from tests.browser.test_report_page import CHROMIUM_FLAGS
from tests.web import free_port

NGINX: Final = Path("/usr/sbin/nginx")
CHROMIUM: Final = Path("/usr/bin/chromium")
PROXY_ADDRESS: Final = "127.0.0.2"
HOST: Final = "casewatch.test"
USER: Final = "cw.tls"
PASSWORD: Final = "a long test password"
FORGED: Final = "203.0.113.9"  # TEST-NET-3: nobody's address

NGINX_CONF: Final = """
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{https_port} ssl;
    server_name {host};
    ssl_certificate {root}/cert.pem;
    ssl_certificate_key {root}/key.pem;
    location / {{
      proxy_pass http://127.0.0.1:{app_port};
      proxy_bind {proxy_address};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""


@frozen
class Deployment:
    app: str  # casewatch itself, http on loopback
    https: str  # nginx, as a browser reaches it
    https_port: int
    db: str


def run(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "casewatch", *args], env=env, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def wait_for(url: str, process: subprocess.Popen[bytes], **kwargs: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args[0]} stopped"
        try:
            httpx.get(url, timeout=2, **kwargs)  # type: ignore[arg-type]
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")


def stop(process: subprocess.Popen[bytes]) -> bytes:
    """Its standard error, once it has stopped."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err or b""


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    assert NGINX.exists(), "Debian's nginx is missing: run scripts/setup.sh --with-browser"
    db = f"sqlite:///{tmp_path / 'casewatch.db'}"
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        f"web:\n  trusted_proxies: [{PROXY_ADDRESS}]\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWATCH_", "PROMETHEUS"))}
    env |= {"CASEWATCH_CONFIG_DIR": str(config), "CASEWATCH_DATABASE_URL": db}
    run("init", env=env)
    run(
        "users", "add", USER, "--role", "caseworker", "--agency", "council", "--team",
        "asb-north", env=env | {"CASEWATCH_PASSWORD": PASSWORD},
    )  # fmt: skip
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    app_port, https_port = free_port(), free_port()
    (tmp_path / "nginx.conf").write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            root=tmp_path,
            https_port=https_port,
            host=HOST,
            app_port=app_port,
            proxy_address=PROXY_ADDRESS,
        ),
        encoding="utf-8",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "serve", "--port", str(app_port), "--no-scheduler"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    proxy = subprocess.Popen(
        [str(NGINX), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        app = f"http://127.0.0.1:{app_port}"
        wait_for(f"{app}/healthz", server)
        wait_for(f"https://127.0.0.1:{https_port}/healthz", proxy, verify=False)
        yield Deployment(app, f"https://{HOST}:{https_port}", https_port, db)
    finally:
        stop(proxy)
        errors = stop(server)
    assert b"Traceback" not in errors, errors.decode()[-2000:]


def sign_ins(db: str) -> list[str | None]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(AuditRow.address)
                    .where(AuditRow.action == "user.sign_in")
                    .order_by(AuditRow.id)
                ).scalars()
            )
    finally:
        engine.dispose()


def sign_in_form(client: httpx.Client, base: str, headers: dict[str, str]) -> httpx.Response:
    """POST the sign-in form as a browser would, echoing any hidden field the form has."""
    form = client.get(f"{base}/login", headers=headers)
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.text))
    fields = hidden | {"username": USER, "password": PASSWORD}
    return client.post(f"{base}/login", data=fields, headers=headers)


def test_sign_in_over_https_through_nginx_in_chromium(deployment: Deployment) -> None:
    """Chromium signs in over https; the cookie is Secure; the audit has the client's address."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/setup.sh --with-browser"
    with sync_playwright() as playwright:
        flags = [f for f in CHROMIUM_FLAGS if f != "--headless"]
        flags.append(f"--host-resolver-rules=MAP {HOST} 127.0.0.1")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=flags, headless=True
        )
        try:
            context = browser.new_context(ignore_https_errors=True, locale="en-GB")
            page = context.new_page()
            page.goto(f"{deployment.https}/login")
            page.get_by_label("Username").fill(USER)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/cases"))
            assert page.url.startswith(f"{deployment.https}/")
            cookies = {c["name"]: c for c in context.cookies()}
            session = cookies["casewatch_session"]
            assert session["secure"] is True
            assert session["httpOnly"] is True
            assert session["domain"] == HOST
        finally:
            browser.close()
    # nginx's own address is 127.0.0.2; the client's, which it forwarded, is 127.0.0.1.
    assert sign_ins(deployment.db) == ["127.0.0.1"]


def test_forwarded_headers_count_only_from_the_proxy(deployment: Deployment) -> None:
    """Forged X-Forwarded-For/-Proto are ignored from a client, and nginx's is believed."""
    forged = {"x-forwarded-for": FORGED, "x-forwarded-proto": "https", "host": HOST}
    with httpx.Client(timeout=10) as direct:  # straight to casewatch, from 127.0.0.1
        response = sign_in_form(direct, deployment.app, forged)
    assert response.status_code == 303, response.text[:500]
    cookie = response.headers["set-cookie"]
    assert "casewatch_session=" in cookie
    assert "secure" not in cookie.lower(), "plain http from a client: its claim of https ignored"
    # Through nginx the forged entry is kept but nginx appends the address it saw, and only
    # that last entry, written by the trusted proxy, is believed.
    with httpx.Client(
        timeout=10, verify=False, base_url=f"https://127.0.0.1:{deployment.https_port}"
    ) as proxied:
        response = sign_in_form(proxied, "", {"x-forwarded-for": FORGED, "host": HOST})
    assert response.status_code == 303, response.text[:500]
    assert "secure" in response.headers["set-cookie"].lower()
    assert sign_ins(deployment.db) == ["127.0.0.1", "127.0.0.1"]


def test_the_shipped_nginx_site_is_valid_for_debians_nginx(tmp_path: Path) -> None:
    """deploy/nginx/casewatch.conf, with a real certificate, passes `nginx -t`."""
    assert NGINX.exists(), "Debian's nginx is missing: run scripts/setup.sh --with-browser"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=casewatch.example.gov.uk", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    shipped = (
        Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "casewatch.conf"
    ).read_text(encoding="utf-8")
    site = shipped.replace("/etc/ssl/casewatch/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/ssl/casewatch/privkey.pem", str(tmp_path / "key.pem"))
    assert site != shipped
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    checked = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr.decode()
