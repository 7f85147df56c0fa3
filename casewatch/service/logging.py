"""Structured logs on stderr, with victim personal data and free text removed.

Logs carry case references and counts only. The redaction processor is the last line of
defence: code should never pass personal data to a logger in the first place.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, Final, TextIO

import structlog

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


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace values of personal or free-text keys, at any depth."""
    for key in list(event_dict):
        if key in REDACTED_KEYS:
            event_dict[key] = REDACTED
        elif isinstance(event_dict[key], dict):
            event_dict[key] = redact_personal_data(_logger, _method, dict(event_dict[key]))
    return event_dict


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
            redact_personal_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level_name, logging.INFO)
        ),
        logger_factory=structlog.WriteLoggerFactory(file=target),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
