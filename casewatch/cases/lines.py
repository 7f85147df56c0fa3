"""One line of events input, read alone, and the words for what the database makes wrong.

Both write paths share it: `casewatch import` (a file, staged and checked as a set) and
the HTTP service's single event (checked by direct lookups). A line is worded the same
whichever path reads it, so a caseworker is told the same thing for the same mistake.
Pure: no database.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any, Final

from attrs import frozen

from casewatch.cases.events import CASE_TYPE_NAMES
from casewatch.cases.problems import Problem, sentences
from casewatch.cases.validation import (
    TOO_DEEP,
    EventValidator,
    RejectedEventError,
    TooDeep,
    ValidEvent,
    nesting_before_parsing,
)


@frozen
class ReadLine:
    """What a line says on its own: the event if it is valid, else its problems, the
    event id to report them under, and the JSON value when it parsed (a refused line
    still tells the cross-line checks which case it opens and which id it uses)."""

    valid: ValidEvent | None
    problems: tuple[Problem, ...] = ()
    event_id: str | None = None
    value: Any = None


def read_line(validator: EventValidator, raw: bytes) -> ReadLine:
    """Parse and validate one line; every problem in words, never an exception."""
    parsed = parse_line(raw)
    return parsed if parsed.problems else validate_value(validator, parsed.value)


def parse_line(raw: bytes) -> ReadLine:
    """A line's JSON value (`value`), or why it has none (`problems`)."""
    problem = None
    try:
        return ReadLine(None, value=_parse_line(raw))
    except UnicodeDecodeError:
        problem = "the line is not valid UTF-8 text"
    except json.JSONDecodeError as exc:
        problem = _json_problem(exc)
    except RecursionError:  # cannot happen past the nesting check; kept as a guard
        problem = f"the line is {TOO_DEEP}"
    except _TooDeepLineError as exc:
        return ReadLine(None, _shown(exc.found.problems), _shown_id(exc.found.event_id))
    except _UnreadableLineError as exc:
        problem = str(exc)
    return ReadLine(None, (Problem("", problem),), None)


def validate_value(validator: EventValidator, value: Any) -> ReadLine:
    """A parsed line checked against the contract: the event, or its problems."""
    try:
        return ReadLine(validator.validate(value))
    except RejectedEventError as rejection:
        # The words may quote the line's text, which may hold a lone surrogate: shown as
        # the escape it was written as, so the summary can still be printed.
        return ReadLine(None, _shown(rejection.problems), _shown_id(rejection.event_id), value)


def printable(text: str) -> str:
    """Text as it can be written out: a lone surrogate as its \\uXXXX escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    return tuple(Problem(printable(p.path), printable(p.words)) for p in problems)


def _shown_id(event_id: str | None) -> str | None:
    return printable(event_id) if event_id is not None else None


# -- the words of the checks that need other lines or the database ------------------------


def changed_after_import(event_id: str) -> Problem:
    return Problem(
        "event_id",
        f"event_id '{event_id}' was imported before with different content; "
        "an accepted event cannot be changed — record a new event instead",
    )


def not_open(case_id: str) -> Problem:
    return Problem(
        "case_id",
        f"case '{case_id}' is not open: no case_opened for it in this file or in an earlier import",
    )


def already_exists(case_id: str) -> Problem:
    return Problem(
        "case_id",
        f"case '{case_id}' already exists (opened by an earlier import); "
        "use case_reopened to reopen a closed case",
    )


def policy_of_another_type(policy: str, case_id: str, case_type: str) -> Problem:
    return Problem(
        "policy",
        f"policy '{policy}' does not apply to case '{case_id}', which is "
        f"{CASE_TYPE_NAMES.get(case_type, case_type)} case",
    )


# -- reading the text -------------------------------------------------------------------

_BOM: Final = "\ufeff"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_UTF16: Final = "if the file is UTF-16, save it as UTF-8"


def _json_problem(exc: json.JSONDecodeError) -> str:
    # Python words some messages to end in "at" (a position follows): said once here.
    # Parsed without its line ending (_parse_line): the column is within the line's text.
    end = " (the end of the line)" if exc.pos >= len(exc.doc) else ""
    problem = (
        f"the line is not valid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}{end}"
    )
    if exc.msg == "Extra data":  # a second value: often lines ended by a CR alone
        problem += " (one event per line; end each line with LF or CRLF)"
    return problem


class _UnreadableLineError(ValueError):
    """A line Python's json would read (or choke on) that is no event, in words."""


class _TooDeepLineError(ValueError):
    """A line nested deeper than an event may be, refused before parsing."""

    def __init__(self, found: TooDeep) -> None:
        super().__init__(sentences(found.problems))
        self.found = found


def _parse_line(raw: bytes) -> Any:
    """A line's JSON value. Refused in words: what JSON text never starts with or holds
    (a byte order mark, NUL bytes: signs of another encoding), what Python's json lets
    through but JSON has no number for (NaN, Infinity), numbers no event can hold."""
    if raw.startswith(_UTF16_BOMS):
        raise _UnreadableLineError(
            "the line starts with a UTF-16 byte order mark; save the file as UTF-8"
        )
    text = raw.decode("utf-8")
    if text.startswith(_BOM):
        raise _UnreadableLineError(
            "the line starts with a byte order mark (U+FEFF); save the file as UTF-8 without a BOM"
        )
    if "\x00" in text:  # never in JSON text; every other byte of UTF-16
        raise _UnreadableLineError(
            f"the line holds a NUL byte, which JSON text never does; {_UTF16}"
        )
    # The line ending is no part of the value: parsed with it, a line cut short was said
    # to fail at the newline, a column past the line's last character.
    text = text.rstrip("\r\n")
    too_deep = nesting_before_parsing(text, "the line")
    if too_deep is not None:
        raise _TooDeepLineError(too_deep)
    try:
        return _DECODER.decode(text)
    except (_UnreadableLineError, json.JSONDecodeError):
        raise
    except ValueError:  # an integer past Python's limit on digits
        raise _UnreadableLineError(
            "the line holds a number too long to read "
            f"(more than {sys.get_int_max_str_digits()} digits)"
        ) from None


def _not_a_json_number(constant: str) -> float:
    raise _UnreadableLineError(f"the line is not valid JSON: {constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _UnreadableLineError(f"the line holds a number too large to store ({text[:40]})")
    return value


# One decoder for every line (json.loads with options builds a new one per call).
_DECODER: Final = json.JSONDecoder(parse_constant=_not_a_json_number, parse_float=_finite)
