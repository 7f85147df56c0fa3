"""What every command and query is: a frozen record of what was asked, by whom and from
where, typed by what handling it returns."""

from __future__ import annotations

from typing import Generic, TypeVar

R_co = TypeVar("R_co", covariant=True)


class Message(Generic[R_co]):
    """A command or query whose handler returns an R_co."""

    __slots__ = ()
