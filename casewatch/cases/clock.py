"""Timestamps: event times must carry an offset; operator input may be local."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TimestampError(ValueError):
    """A timestamp that cannot be read, worded for the person who typed it."""


def parse_event_time(text: object) -> datetime:
    """Read an event's `at`: ISO 8601 with a UTC offset, returned as an aware datetime.

    A naive timestamp is refused rather than guessed, because an hour's error around a
    DST change can turn a met target into a breach.
    """
    if not isinstance(text, str):
        raise TimestampError("must be an ISO 8601 timestamp with a UTC offset, as text")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError(
            f"'{_short(text)}' is not an ISO 8601 timestamp "
            "(expected e.g. 2014-05-06T10:30:00+01:00)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimestampError(
            f"'{_short(text)}' has no UTC offset; "
            "add one, e.g. +00:00 in winter or +01:00 in summer"
        )
    return value


EARLIEST_YEAR: Final = 1900
LATEST_YEAR: Final = 2999
_EARLIEST: Final = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
_AFTER_LATEST: Final = datetime(LATEST_YEAR + 1, 1, 1, tzinfo=UTC)


def within_supported_years(moment: datetime) -> bool:
    """Targets and look-backs are computed days and months either side of a moment; a
    year no case can have would overflow that arithmetic. Compared as instants, without
    converting (0001-01-01 at +14:00 has no UTC equivalent)."""
    return _EARLIEST <= moment < _AFTER_LATEST


def parse_operator_time(text: str, tz: ZoneInfo) -> datetime:
    """Read a `--now`/`--as-of` value: an offset is honoured, none means local wall time,
    and a bare date means local midnight."""
    text = text.strip()
    try:
        if _DATE_ONLY.match(text):
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError(
            f"'{_short(text)}' is not an ISO date or timestamp (expected e.g. 2014-05-06 "
            "or 2014-05-06T10:30:00+01:00)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """An instant as people read it: local wall-clock time with its offset."""
    return value.astimezone(tz).isoformat() if value is not None else None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
