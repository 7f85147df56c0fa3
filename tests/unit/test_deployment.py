"""The `web:` settings: which proxies are believed and who may scrape /metrics."""

from __future__ import annotations

import pytest

from casewatch.service.deployment import (
    DEFAULT_WEB,
    DeploymentConfigError,
    sign_in_settings_from,
    web_settings_from,
)


def test_without_a_web_section_loopback_is_the_proxy_and_the_scraper() -> None:
    """The defaults trust and allow only this host, over IPv4 and IPv6."""
    settings = web_settings_from(None, "settings.yaml")
    assert settings == DEFAULT_WEB
    for address in ("127.0.0.1", "::1"):
        assert settings.is_proxy(address)
        assert settings.may_scrape(address)
    assert not settings.is_proxy("127.0.0.2")
    assert not settings.may_scrape("10.0.0.5")


def test_networks_and_an_empty_list_are_taken_as_written() -> None:
    """A /24 covers its addresses only; an empty list trusts nobody."""
    settings = web_settings_from(
        {"trusted_proxies": ["10.1.2.0/24"], "metrics_allow": []}, "settings.yaml"
    )
    assert settings.is_proxy("10.1.2.200")
    assert not settings.is_proxy("10.1.3.1")
    assert not settings.is_proxy("127.0.0.1")
    assert not settings.may_scrape("127.0.0.1")


def test_what_is_not_an_address_is_never_trusted() -> None:
    """The server's '-' for an unknown client, or a host name, matches no network."""
    assert not DEFAULT_WEB.is_proxy("-")
    assert not DEFAULT_WEB.may_scrape("localhost")


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"trusted_proxies": ["proxy.example"]}, "entry 'proxy.example' is not an IP address"),
        ({"metrics_allow": "127.0.0.1"}, "web.metrics_allow must be a list"),
        ({"trusted_proxy": []}, "unknown web setting(s) trusted_proxy"),
        (["127.0.0.1"], "'web' must be a mapping"),
    ],
)
def test_bad_settings_are_refused_in_words(section: object, words: str) -> None:
    """Each mistake names the file and what is wrong."""
    with pytest.raises(DeploymentConfigError, match=r"settings\.yaml") as caught:
        web_settings_from(section, "settings.yaml")
    assert words in str(caught.value)


def test_the_shipped_sign_in_requires_two_factor_of_admins_and_managers() -> None:
    """Without a sign_in section: admin and manager, passwords on, no provider."""
    settings = sign_in_settings_from(None, "settings.yaml")
    assert settings.two_factor_roles == {"admin", "manager"}
    assert settings.local_passwords is True
    assert settings.oidc is None


def test_an_oidc_provider_is_read_with_its_defaults() -> None:
    """The issuer loses a trailing slash; the claim, label and scopes have defaults."""
    settings = sign_in_settings_from(
        {"oidc": {"issuer": "https://idp.example/realms/csp/", "client_id": "casewatch"}},
        "settings.yaml",
    )
    assert settings.oidc is not None
    assert settings.oidc.issuer == "https://idp.example/realms/csp"
    assert settings.oidc.match_claim == "preferred_username"
    assert settings.oidc.scopes == ("openid", "profile", "email")


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"two_factor_required_for": ["boss"]}, "unknown role(s) boss"),
        ({"local_passwords": False}, "nobody could sign in"),
        ({"local_passwords": "no"}, "must be true or false"),
        ({"oidc": {"issuer": "http://idp.example", "client_id": "c"}}, "must be an https URL"),
        ({"oidc": {"issuer": "https://idp.example"}}, "client_id is missing"),
        (
            {"oidc": {"issuer": "https://i.example", "client_id": "c", "scopes": ["email"]}},
            "a list with openid",
        ),
    ],
)
def test_bad_sign_in_settings_are_refused_in_words(section: object, words: str) -> None:
    """Each mistake is named; an http issuer is allowed on loopback only."""
    with pytest.raises(DeploymentConfigError) as caught:
        sign_in_settings_from(section, "settings.yaml")
    assert words in str(caught.value)
    local = sign_in_settings_from(
        {"oidc": {"issuer": "http://127.0.0.1:9000", "client_id": "c"}}, "settings.yaml"
    )
    assert local.oidc is not None
