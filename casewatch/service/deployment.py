"""How this deployment faces the network: which proxies to believe, who may scrape /metrics.

Read from the `web:` section of settings.yaml. Addresses are IP addresses or networks
(`10.0.0.0/24`); anything else is refused at start-up, naming the file and the entry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from attrs import frozen

from casewatch.service.access import ROLES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: Final = ("127.0.0.1", "::1")


class DeploymentConfigError(ValueError):
    """A `web:` setting that cannot be used; says which."""


@frozen
class WebSettings:
    # Only a request arriving from one of these may say, in X-Forwarded-For and
    # X-Forwarded-Proto, who the client is and whether it came over TLS.
    trusted_proxies: tuple[Network, ...]
    # Who may read /metrics without the token (the token works from anywhere).
    metrics_allow: tuple[Network, ...]

    def may_scrape(self, address: str) -> bool:
        return _within(address, self.metrics_allow)

    def is_proxy(self, address: str) -> bool:
        return _within(address, self.trusted_proxies)


DEFAULT_WEB: Final = WebSettings(
    trusted_proxies=tuple(ipaddress.ip_network(a) for a in LOOPBACK),
    metrics_allow=tuple(ipaddress.ip_network(a) for a in LOOPBACK),
)


def web_settings_from(section: Any, where: str) -> WebSettings:
    if section is None:
        return DEFAULT_WEB
    if not isinstance(section, dict):
        raise DeploymentConfigError(f"{where}: 'web' must be a mapping of settings")
    unknown = sorted(set(section) - {"trusted_proxies", "metrics_allow"})
    if unknown:
        raise DeploymentConfigError(f"{where}: unknown web setting(s) {', '.join(unknown)}")
    return WebSettings(
        trusted_proxies=_networks(section, "trusted_proxies", where, DEFAULT_WEB.trusted_proxies),
        metrics_allow=_networks(section, "metrics_allow", where, DEFAULT_WEB.metrics_allow),
    )


def _networks(
    section: dict[str, Any], key: str, where: str, default: tuple[Network, ...]
) -> tuple[Network, ...]:
    if key not in section:
        return default
    value = section[key]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DeploymentConfigError(f"{where}: web.{key} must be a list of addresses")
    found = []
    for entry in value:
        try:
            found.append(ipaddress.ip_network(str(entry), strict=False))
        except ValueError:
            raise DeploymentConfigError(
                f"{where}: web.{key} entry '{entry}' is not an IP address or network"
            ) from None
    return tuple(found)


def _within(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # "-" when the server saw no address, or a name: never trusted
    return any(ip in network for network in networks)


@frozen
class OidcSettings:
    """The partnership's OpenID Connect provider (docs/deployment.md)."""

    issuer: str  # discovery is read from {issuer}/.well-known/openid-configuration
    client_id: str
    match_claim: str  # the ID token claim whose value is a casewatch username
    label: str  # the button's words
    scopes: tuple[str, ...]


@frozen
class SignInSettings:
    # Roles whose people must use an authenticator app when they sign in with a password.
    two_factor_roles: frozenset[str]
    local_passwords: bool = True  # false: only the identity provider signs people in
    oidc: OidcSettings | None = None


DEFAULT_SIGN_IN: Final = SignInSettings(two_factor_roles=frozenset({"admin", "manager"}))
_OIDC_KEYS: Final = {"issuer", "client_id", "match_claim", "label", "scopes"}


def sign_in_settings_from(section: Any, where: str) -> SignInSettings:
    """The `sign_in:` section; without it, admins and managers need two-factor sign-in."""
    if section is None:
        return DEFAULT_SIGN_IN
    if not isinstance(section, dict):
        raise DeploymentConfigError(f"{where}: 'sign_in' must be a mapping of settings")
    unknown = sorted(set(section) - {"two_factor_required_for", "local_passwords", "oidc"})
    if unknown:
        raise DeploymentConfigError(f"{where}: unknown sign_in setting(s) {', '.join(unknown)}")
    roles = section.get("two_factor_required_for", sorted(DEFAULT_SIGN_IN.two_factor_roles))
    if roles is None:
        roles = []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise DeploymentConfigError(
            f"{where}: sign_in.two_factor_required_for must be a list of roles"
        )
    wrong = sorted(set(roles) - set(ROLES))
    if wrong:
        raise DeploymentConfigError(
            f"{where}: sign_in.two_factor_required_for names unknown role(s) "
            f"{', '.join(wrong)}; the roles are {', '.join(ROLES)}"
        )
    local = section.get("local_passwords", True)
    if not isinstance(local, bool):
        raise DeploymentConfigError(f"{where}: sign_in.local_passwords must be true or false")
    oidc = _oidc_from(section.get("oidc"), where)
    if not local and oidc is None:
        raise DeploymentConfigError(
            f"{where}: sign_in.local_passwords is false but no sign_in.oidc provider is "
            "set: nobody could sign in"
        )
    return SignInSettings(two_factor_roles=frozenset(roles), local_passwords=local, oidc=oidc)


def _oidc_from(section: Any, where: str) -> OidcSettings | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise DeploymentConfigError(f"{where}: 'sign_in.oidc' must be a mapping of settings")
    unknown = sorted(set(section) - _OIDC_KEYS)
    if unknown:
        raise DeploymentConfigError(
            f"{where}: unknown sign_in.oidc setting(s) {', '.join(unknown)}"
        )
    issuer = str(section.get("issuer") or "").rstrip("/")
    parsed = urlsplit(issuer)
    local = parsed.hostname in {"127.0.0.1", "localhost", "::1"}
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise DeploymentConfigError(
            f"{where}: sign_in.oidc.issuer must be an https URL (http only on loopback)"
        )
    client_id = str(section.get("client_id") or "")
    if not client_id:
        raise DeploymentConfigError(f"{where}: sign_in.oidc.client_id is missing")
    scopes = section.get("scopes", ["openid", "profile", "email"])
    if not isinstance(scopes, list) or "openid" not in scopes:
        raise DeploymentConfigError(f"{where}: sign_in.oidc.scopes must be a list with openid")
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        match_claim=str(section.get("match_claim") or "preferred_username"),
        label=str(section.get("label") or "Sign in with your organisation's account"),
        scopes=tuple(str(scope) for scope in scopes),
    )


def deployment_from(settings: Any, where: str) -> tuple[WebSettings, SignInSettings]:
    """The `web:` and `sign_in:` sections of settings.yaml."""
    return (
        web_settings_from(settings.get("web"), where),
        sign_in_settings_from(settings.get("sign_in"), where),
    )
