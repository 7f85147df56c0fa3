"""Signing in through the partnership's OpenID Connect provider.

Authorisation code flow with PKCE (S256). The `state` is random, bound to the browser by a
cookie and to this server by a row holding its hash, the `nonce` and the PKCE verifier;
the row is used once. The ID token's signature is checked by joserfc against the keys the
provider publishes (its JWKS), and its claims (issuer, audience, expiry, issue time,
nonce) by joserfc's claims registry at this server's clock. The person is the casewatch
user whose username equals the configured claim: nobody is ever created from a token.

Every refusal raises SignInRefused with words for the person and a short reason for the
audit trail; nothing about the token's contents beyond the matched claim is kept.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from attrs import frozen
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Connection, delete, insert, select

from casewatch.service.access import Principal
from casewatch.service.accounts import digest, principal_of
from casewatch.service.deployment import OidcSettings
from casewatch.service.tables import OidcRequestRow, UserRow

REQUEST_LIFETIME: Final = timedelta(minutes=10)  # time to sign in at the provider
HTTP_TIMEOUT: Final = 10.0
LEEWAY_SECONDS: Final = 60  # clocks of two servers differ a little
CACHE_SECONDS: Final = 3600  # discovery and keys are re-read hourly, or on an unknown key
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
_USER_COLUMNS: Final = tuple(UserRow.__table__.columns)
CLIENT_SECRET_ENV: Final = "CASEWATCH_OIDC_CLIENT_SECRET"  # noqa: S105 - a variable's name


class SignInRefused(Exception):  # noqa: N818 - a refusal, not a fault
    """The sign-in cannot go on: `words` for the person, `reason` for the audit trail."""

    def __init__(self, words: str, reason: str, claimed: str | None = None) -> None:
        super().__init__(words)
        self.words = words
        self.reason = reason
        self.claimed = claimed  # the matched claim's value, when the token was good


@frozen
class Started:
    state: str
    authorization_url: str


@frozen
class Provider:
    """What discovery says; read once an hour, or again when a key is unknown."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


class Discovery:
    """The provider's metadata and keys, cached in this process."""

    def __init__(self, settings: OidcSettings, client: Callable[[], httpx.Client]) -> None:
        self.settings = settings
        self._client = client
        self._lock = threading.Lock()
        self._provider: Provider | None = None
        self._keys: KeySet | None = None
        self._read_at = 0.0

    def provider(self) -> Provider:
        with self._lock:
            if self._provider is None or time.monotonic() - self._read_at > CACHE_SECONDS:
                self._provider, self._keys = self._read()
                self._read_at = time.monotonic()
            return self._provider

    def keys(self, refresh: bool = False) -> KeySet:
        self.provider()
        with self._lock:
            if refresh or self._keys is None:
                self._provider, self._keys = self._read()
                self._read_at = time.monotonic()
            assert self._keys is not None
            return self._keys

    def _read(self) -> tuple[Provider, KeySet]:
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        try:
            with self._client() as client:
                meta = client.get(url).raise_for_status().json()
                if meta.get("issuer") != self.settings.issuer:
                    raise SignInRefused(
                        "The identity provider is not the one configured for casewatch.",
                        "issuer_mismatch",
                    )
                keys = KeySet.import_key_set(client.get(meta["jwks_uri"]).raise_for_status().json())
        except (httpx.HTTPError, KeyError, ValueError, TypeError, JoseError):
            raise SignInRefused(
                "The identity provider cannot be reached or answered wrongly; try again "
                "shortly, or tell your IT service desk.",
                "provider_unavailable",
            ) from None
        return (
            Provider(
                authorization_endpoint=str(meta["authorization_endpoint"]),
                token_endpoint=str(meta["token_endpoint"]),
                jwks_uri=str(meta["jwks_uri"]),
                end_session_endpoint=meta.get("end_session_endpoint"),
            ),
            keys,
        )


def _challenge(verifier: str) -> str:
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def start(
    conn: Connection,
    settings: OidcSettings,
    *,
    provider: Provider,
    redirect_uri: str,
    next_path: str,
    now: datetime,
) -> Started:
    """Remember a new sign-in and say where to send the browser."""
    state, nonce, verifier = (
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(64),
    )
    conn.execute(delete(OidcRequestRow).where(OidcRequestRow.expires_at < now))
    conn.execute(
        insert(OidcRequestRow).values(
            state_hash=digest(state),
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            expires_at=now + REQUEST_LIFETIME,
        )
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(settings.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return Started(state, f"{provider.authorization_endpoint}{separator}{query}")


@frozen
class Pending:
    nonce: str
    code_verifier: str
    next_path: str


def take_request(
    conn: Connection, state: str, cookie_state: str, now: datetime, provider_error: str | None
) -> Pending:
    """The sign-in this answer belongs to, used up; refused unless the browser that
    started it brings it back in time."""
    if not state or not secrets.compare_digest(state.encode(), cookie_state.encode()):
        raise SignInRefused(
            "This sign-in was not started from this browser, or was already used. "
            "Start again from the sign-in page.",
            "state_mismatch",
        )
    row = conn.execute(
        delete(OidcRequestRow)
        .where(OidcRequestRow.state_hash == digest(state))
        .returning(OidcRequestRow.nonce, OidcRequestRow.code_verifier, OidcRequestRow.next_path,
                   OidcRequestRow.expires_at)
    ).first()  # fmt: skip
    if row is None or row.expires_at < now:
        raise SignInRefused(
            "This sign-in has expired or was already used. Start again from the sign-in page.",
            "state_unknown",
        )
    if provider_error:
        raise SignInRefused(
            "The identity provider did not sign you in. Start again from the sign-in page.",
            "provider_error",
        )
    return Pending(row.nonce, row.code_verifier, row.next_path)


def exchange(
    settings: OidcSettings,
    provider: Provider,
    *,
    client: Callable[[], httpx.Client],
    code: str,
    redirect_uri: str,
    pending: Pending,
    secret: str | None,
) -> str:
    """The ID token for `code`, from the provider's token endpoint."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.client_id,
        "code_verifier": pending.code_verifier,
    }
    if secret:
        form["client_secret"] = secret
    try:
        with client() as http:
            answer = http.post(provider.token_endpoint, data=form)
    except httpx.HTTPError:
        raise SignInRefused(
            "The identity provider cannot be reached; try again shortly.", "provider_unavailable"
        ) from None
    if answer.status_code != 200:
        raise SignInRefused(
            "The identity provider refused the sign-in code: it may have expired or been used "
            "already. Start again from the sign-in page.",
            "code_refused",
        )
    try:
        return str(answer.json()["id_token"])
    except (ValueError, KeyError, TypeError):
        raise SignInRefused(
            "The identity provider sent no identity token.", "no_id_token"
        ) from None


def verify(
    discovery: Discovery, settings: OidcSettings, id_token: str, nonce: str, now: datetime
) -> Mapping[str, Any]:
    """The ID token's claims once its signature and claims check out."""
    try:
        try:
            token = jwt.decode(id_token, discovery.keys(), algorithms=list(ALGORITHMS))
        except JoseError:  # perhaps signed with a key published since: read the keys again
            token = jwt.decode(id_token, discovery.keys(refresh=True), algorithms=list(ALGORITHMS))
    except (JoseError, ValueError):
        raise SignInRefused(
            "The identity token's signature is not right: it did not come from the "
            "configured identity provider.",
            "bad_signature",
        ) from None
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": settings.issuer},
        aud={"essential": True, "value": settings.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(token.claims)
    except JoseError as exc:
        claim = str(getattr(exc, "claim", "") or "")
        words = {
            "aud": "The identity token was issued for another application.",
            "exp": "The identity token has expired. Start again from the sign-in page.",
            "nonce": "The identity token does not belong to this sign-in.",
            "iss": "The identity token comes from another identity provider.",
        }.get(claim, "The identity token is not valid for casewatch.")
        raise SignInRefused(words, f"bad_claim:{claim or type(exc).__name__}"[:60]) from None
    audiences = (
        token.claims["aud"] if isinstance(token.claims["aud"], list) else [token.claims["aud"]]
    )
    if len(audiences) > 1 and token.claims.get("azp") != settings.client_id:
        raise SignInRefused(
            "The identity token was issued for another application.", "bad_claim:azp"
        )
    return token.claims


def person_for(conn: Connection, settings: OidcSettings, claims: Mapping[str, Any]) -> Principal:
    """The active casewatch user named by the configured claim; never a new one."""
    value = claims.get(settings.match_claim)
    if not isinstance(value, str) or not value.strip():
        raise SignInRefused(
            f"The identity provider did not say who you are (no '{settings.match_claim}').",
            "no_match_claim",
        )
    row = conn.execute(
        select(*_USER_COLUMNS).where(UserRow.username == value, UserRow.active)
    ).first()
    if row is None:
        raise SignInRefused(
            f"Your identity provider account ({settings.match_claim} '{value[:100]}') has no "
            "casewatch account. Ask your casewatch administrator to add you.",
            "unknown_person",
            claimed=value[:100],
        )
    return principal_of(row)


def end_session_url(provider: Provider, settings: OidcSettings, after: str) -> str | None:
    if not provider.end_session_endpoint:
        return None
    query = urlencode({"client_id": settings.client_id, "post_logout_redirect_uri": after})
    separator = "&" if "?" in provider.end_session_endpoint else "?"
    return f"{provider.end_session_endpoint}{separator}{query}"
