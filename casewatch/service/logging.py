"""Structured logs on stderr, with victim personal data and free text removed.

Logs carry case references and counts only. The redaction processors are the last line
of defence: code should never pass personal data to a logger in the first place. They look
inside nested mappings, lists and tuples, and an exception's message (which may quote the
data that caused it) is dropped from its traceback, keeping the frames and the type.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any, Final, TextIO

import structlog
from structlog.typing import FilteringBoundLogger, Processor

# Keys whose values may hold victim personal data or free text typed by a caseworker.
REDACTED_KEYS: Final = frozenset(
    {
        "victim",
        "name",
        "address",
        "postcode",
        "dob",
        "date_of_birth",
        "phone",
        "email",
        "reason",
        "outcome",
        "notes",
        "note",
        "text",
        "description",
        "payload",
        "personal",
        "data",
        "line_text",
        "actions",
        "professional_judgement",
    }
)
REDACTED: Final = "[redacted]"


def _redacted(value: Any) -> Any:
    """A copy of `value` with personal or free-text keys blanked at any depth, through
    mappings, lists and tuples alike."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if key in REDACTED_KEYS else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item) for item in value)
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace values of personal or free-text keys, at any depth."""
    for key in list(event_dict):
        if key in REDACTED_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redacted(event_dict[key])
    return event_dict


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _exc_info(value: Any) -> ExcInfo | None:
    if isinstance(value, BaseException):
        return type(value), value, value.__traceback__
    if isinstance(value, tuple) and len(value) == 3 and value[1] is not None:
        return value
    if value:
        found = sys.exc_info()
        return found if found[1] is not None else None
    return None


def traceback_without_messages(exc: BaseException) -> str:
    """The traceback as Python prints it (chained causes included), but with each
    exception's message replaced: messages may quote the personal data that caused them."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = []
    for error in reversed(chain):
        kind = type(error)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        frames = "".join(traceback.format_tb(error.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {REDACTED}\n")
    return "\nThe above exception led to the following one:\n\n".join(parts)


def redact_exceptions(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor, before format_exc_info: render `exc_info` as a traceback
    without exception messages, under `exception` as format_exc_info would."""
    info = _exc_info(event_dict.pop("exc_info", None))
    if info is not None:
        event_dict["exception"] = traceback_without_messages(info[1])
    if isinstance(event_dict.get("exception"), str) and info is None:
        event_dict["exception"] = REDACTED  # text rendered elsewhere: cannot be trusted
    return event_dict


def privacy_processors() -> list[Processor]:
    """The processors that keep personal data out of every log line, in order."""
    return [redact_exceptions, redact_personal_data, structlog.processors.format_exc_info]


class _CurrentStderr:
    """Whatever sys.stderr is at the moment of writing: a test runner (or a daemon) may
    swap it after logging was configured, and a closed old stream must not break logs."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(stream: TextIO | None = None, level: str | None = None) -> None:
    target: TextIO | _CurrentStderr = stream or _CurrentStderr()
    level_name = (level or os.environ.get("CASEWATCH_LOG_LEVEL") or "INFO").upper()
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if target.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *privacy_processors(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level_name, logging.INFO)
        ),
        logger_factory=structlog.WriteLoggerFactory(file=target),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> FilteringBoundLogger:
    """The logger configure_logging sets up: a filtering bound logger (not the stdlib
    one), whose methods are info, warning, error, exception, bind and the like."""
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger
