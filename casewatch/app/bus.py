"""The application: one entry point, `handle(message)`, that the API, the pages and the
command line's audited commands call. It finds the message's handler by type and gives it
a fresh unit of work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from casewatch.app.deps import Deps
from casewatch.app.handlers import HANDLERS, Handler
from casewatch.app.messages import Message
from casewatch.app.uow import UnitOfWork

R = TypeVar("R")


class Application:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        deps: Deps,
        handlers: Mapping[type, Handler] = HANDLERS,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.deps = deps
        self._handlers = handlers

    def handle(self, message: Message[R]) -> R:
        handler = self._handlers.get(type(message))
        if handler is None:
            raise TypeError(f"no handler for {type(message).__name__}")
        result: Any = handler(message, self.unit_of_work(), self.deps)
        return cast(R, result)
