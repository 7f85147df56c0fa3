"""Who hears about an alert level, on which channels, and at which addresses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from attrs import frozen

CHANNELS = ("inbox", "email", "webhook")


class RoutingConfigError(ValueError):
    """A notifications file that cannot be used."""


@frozen
class Routing:
    recipients: Mapping[str, tuple[str, ...]]
    channels: tuple[str, ...]
    caseworker_email_domain: str | None
    addresses: Mapping[str, str]
    teams: Mapping[str, Mapping[str, str]]
    historic_after: timedelta
    notify_historic: bool
    link_base_url: str
    max_attempts: int
    backoff: timedelta
    timeout: timedelta
    batch_size: int
    max_batches: int

    def roles_for(self, level: str) -> tuple[str, ...]:
        if level in self.recipients:
            return self.recipients[level]
        escalations = sorted(
            (k for k in self.recipients if k.startswith("escalation-")),
            key=lambda k: int(k.rsplit("-", 1)[1]),
        )
        return (
            self.recipients[escalations[-1]]
            if level.startswith("escalation-") and escalations
            else ()
        )

    def address(self, role: str, team: str | None, caseworker: str | None) -> str | None:
        if role == "caseworker":
            if caseworker and "@" in caseworker:
                return caseworker
            if caseworker and self.caseworker_email_domain:
                return f"{caseworker}@{self.caseworker_email_domain}"
            return None
        if team and role in self.teams.get(team, {}):
            return self.teams[team][role]
        return self.addresses.get(role)

    def channels_for(self, historic: bool) -> Sequence[str]:
        if historic and not self.notify_historic:
            return [c for c in self.channels if c == "inbox"]
        return self.channels


def routing_from_mapping(data: Any, source: str) -> Routing:
    if not isinstance(data, Mapping):
        raise RoutingConfigError(f"{source}: expected a mapping")
    recipients = data.get("recipients") or {}
    if not isinstance(recipients, Mapping) or not all(
        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in recipients.values()
    ):
        raise RoutingConfigError(f"{source}: recipients must map each level to a list of roles")
    channels = data.get("channels") or {"inbox": True}
    unknown = set(channels) - set(CHANNELS)
    if unknown:
        raise RoutingConfigError(f"{source}: unknown channel(s) {', '.join(sorted(unknown))}")
    delivery = data.get("delivery") or {}
    scan = data.get("scan") or {}
    try:
        return Routing(
            recipients={level: tuple(roles) for level, roles in recipients.items()},
            channels=tuple(c for c in CHANNELS if channels.get(c)),
            caseworker_email_domain=data.get("caseworker_email_domain"),
            addresses=dict(data.get("addresses") or {}),
            teams={team: dict(roles) for team, roles in (data.get("teams") or {}).items()},
            historic_after=timedelta(hours=float(data.get("historic_after_hours", 24))),
            notify_historic=bool(data.get("notify_historic", False)),
            link_base_url=str(data.get("link_base_url", "http://127.0.0.1:8000")).rstrip("/"),
            max_attempts=int(delivery.get("max_attempts", 8)),
            backoff=timedelta(seconds=float(delivery.get("backoff_seconds", 30))),
            timeout=timedelta(seconds=float(delivery.get("timeout_seconds", 10))),
            batch_size=int(scan.get("batch_size", 500)),
            max_batches=int(scan.get("max_batches", 1000)),
        )
    except (TypeError, ValueError) as exc:
        raise RoutingConfigError(f"{source}: {exc}") from None
