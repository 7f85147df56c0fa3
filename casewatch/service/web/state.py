"""What every request handler needs, built once per process by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import define

from casewatch.app.bus import Application
from casewatch.service.runtime import Runtime
from casewatch.service.web.security import AnyRequest, Caller, identify, require_caller
from casewatch.service.worker import Heartbeat


@define
class Service:
    runtime: Runtime  # configuration, and the engine /readyz and /metrics look at
    app: Application
    clock: Callable[[], datetime]
    heartbeat: Heartbeat | None = None  # None when the scheduler runs elsewhere

    def caller(self, request: AnyRequest) -> Caller | None:
        """Identified once per request; pages and the API both ask."""
        cached = request.scope.get("casewatch_caller", False)
        if cached is False:
            cached = identify(request, self.app)
            request.scope["casewatch_caller"] = cached  # type: ignore[typeddict-unknown-key]
        return cached  # type: ignore[return-value]

    def signed_in(self, request: AnyRequest) -> Caller:
        return require_caller(self.caller(request))


def service_of(request: AnyRequest) -> Service:
    service: Service = request.app.state["service"]
    return service
