"""The `web:` settings: which proxies are believed and who may scrape /metrics."""

from __future__ import annotations

import pytest

from casewatch.service.deployment import DEFAULT_WEB, DeploymentConfigError, web_settings_from


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
