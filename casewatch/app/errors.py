"""The errors the application layer raises; each adapter words them its own way (an HTTP
status, a page, an exit code)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from casewatch.cases.problems import Problem


class NotFoundError(LookupError):
    """No such case (or alert) — also what people without access are told, so a case
    reference cannot be probed."""


class ForbiddenError(PermissionError):
    """The person is signed in but their role may not do this at all."""


class ConflictError(RuntimeError):
    """The case kept changing under the request; trying again will work."""


WHOLE_EVENT: Final = "body"  # the field named by a problem of the event as a whole


class InvalidEventError(ValueError):
    """An event refused, with the validator's problems (each names its field path)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{field}: {words}" for field, words in self.fields()))

    def fields(self) -> list[tuple[str, str]]:
        """(field path, words) of each problem, as the API and the pages show them."""
        return [(p.path or WHOLE_EVENT, p.words) for p in self.problems]
