"""A small OpenID Connect provider for the tests, served over HTTP on loopback.

It does what a real provider does for the authorisation code flow: discovery, a JWKS,
an authorisation endpoint that signs the configured person in at once, a token endpoint
that checks the client, the redirect URI and the PKCE verifier, uses each code once and
returns an RS256 ID token signed by joserfc with the nonce it was given. Knobs let a test
make it misbehave the way an attacker or a broken provider would: an ID token for another
audience, one that has expired, one signed with a key it does not publish.

Written here because the maintained Python mock (oidc-provider-mock) always issues a
correct token to the client that asks, so it cannot produce the wrong-audience token.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from attrs import define, field
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


@define
class Provider:
    client_id: str
    base: str = ""
    claims: dict[str, Any] = field(factory=dict)  # the person who signs in next
    audience: str | None = None  # None: the client that asks
    lifetime: int = 300  # seconds the ID token lives; negative: expired when issued
    forge: bool = False  # sign with a key the JWKS does not hold
    consent: bool = False  # show a page with a Continue link instead of redirecting at once
    clock: Callable[[], float] = time.time
    key: RSAKey = field(factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    other_key: RSAKey = field(factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, str]] = field(factory=dict)
    exchanges: list[str] = field(factory=list)  # every code sent to the token endpoint

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "end_session_endpoint": f"{self.base}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, {}, b"unknown client"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, b"PKCE S256 required"
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "nonce": query.get("nonce", ""),
            "challenge": query["code_challenge"],
        }
        back = urlencode({"code": code, "state": query.get("state", "")})
        target = f"{query['redirect_uri']}?{back}"
        if self.consent:
            page = f'<p>Signed in at the provider.</p><a id="continue" href="{html.escape(target)}">Continue</a>'
            return 200, {"Content-Type": "text/html"}, page.encode()
        return 302, {"Location": target}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        code = form.get("code", "")
        self.exchanges.append(code)
        grant = self.codes.pop(code, None)  # used once, whatever happens next
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            grant is None
            or form.get("client_id") != self.client_id
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge.decode() != grant["challenge"]
        ):
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        now = int(self.clock())
        claims = {
            "iss": self.base,
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + self.lifetime,
            "nonce": grant["nonce"],
            **self.claims,
        }
        key = self.other_key if self.forge else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        body = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                "expires_in": 300, "id_token": id_token}  # fmt: skip
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any) -> None:
            self._answer(200, {"Content-Type": "application/json"}, json.dumps(data).encode())

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(provider.discovery())
            elif url.path == "/jwks":
                self._json(KeySet([provider.key]).as_dict(private=False))
            elif url.path == "/authorize":
                self._answer(*provider.authorize(query))
            elif url.path == "/logout":
                self._answer(
                    200, {"Content-Type": "text/html"}, b"<p>Signed out of the provider</p>"
                )
            else:
                self._answer(404, {}, b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._answer(*provider.token(form))
            else:
                self._answer(404, {}, b"")

    return Handler


@contextmanager
def running_provider(client_id: str = "casewatch") -> Iterator[Provider]:
    """The provider on a free loopback port, stopped afterwards."""
    provider = Provider(client_id=client_id)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
