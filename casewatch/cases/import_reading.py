"""Reading an import file's lines into staging rows: each line parsed and validated on its
own (pure), so a large file's lines can be read in worker processes while the importing
process writes the rows already read. Lines come back in file order either way, so the
staged rows, the errors and the progress are the same as a serial read's.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, islice
from multiprocessing.pool import AsyncResult
from typing import Any, Final

from attrs import frozen

from casewatch.cases.lines import printable, read_line
from casewatch.cases.problems import Problem
from casewatch.cases.validation import EventValidator, ValidEvent

READ_CHUNK: Final = 2_000  # lines per task: pickling a task costs far less than reading it
AHEAD: Final = 2  # tasks queued per worker: keeps it busy, and memory flat

Numbered = tuple[int, bytes]


@frozen
class StagedLine:
    """One non-blank line as read alone: its staging row (None: nothing usable), and for a
    refused line its problems and the event id to report them under."""

    number: int
    row: dict[str, Any] | None
    refused: bool = False
    problems: tuple[Problem, ...] = ()
    event_id: str | None = None


def read_lines(
    validator: EventValidator, lines: Iterable[bytes], workers: int = 1
) -> Iterator[StagedLine]:
    """The non-blank lines of a file, read in order. With `workers` of 2 or more, a file
    longer than one chunk is read by that many forked processes, a few chunks ahead of the
    caller: a short file (an event posted to the API) never pays for starting them."""
    numbered = ((number, raw) for number, raw in enumerate(lines, start=1) if raw.strip())
    chunks = _chunked(numbered)
    first = next(chunks, [])
    if workers < 2 or len(first) < READ_CHUNK:
        for chunk in chain([first], chunks):
            yield from read_chunk(validator, chunk)
        return
    # fork: the workers inherit the validator as it is (its link secret included).
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start, initargs=(validator,)) as pool:
        pending: deque[AsyncResult[list[StagedLine]]] = deque()
        for chunk in chain([first], chunks):
            pending.append(pool.apply_async(_read_in_worker, (chunk,)))
            if len(pending) > workers * AHEAD:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def read_chunk(validator: EventValidator, chunk: Iterable[Numbered]) -> list[StagedLine]:
    return [_staged(validator, number, raw) for number, raw in chunk]


def _staged(validator: EventValidator, number: int, raw: bytes) -> StagedLine:
    read = read_line(validator, raw)
    if read.valid is not None:
        return StagedLine(number, valid_row(number, read.valid))
    row = partial_row(number, read.value)
    return StagedLine(number, row, refused=True, problems=read.problems, event_id=read.event_id)


def _chunked(numbered: Iterator[Numbered]) -> Iterator[list[Numbered]]:
    while chunk := list(islice(numbered, READ_CHUNK)):
        yield chunk


_validator: list[EventValidator] = []  # the one validator of a worker process


def _start(validator: EventValidator) -> None:
    _validator[:] = [validator]


def _read_in_worker(chunk: list[Numbered]) -> list[StagedLine]:
    return read_chunk(_validator[0], chunk)


def valid_row(number: int, valid: ValidEvent) -> dict[str, Any]:
    """The staging row of an accepted line."""
    event = valid.event
    return {
        "line": number,
        "event_id": event.event_id,
        "case_id": event.case_id,
        "type": event.TYPE,
        "valid": True,
        "duplicate": False,
        "at": event.at,
        "case_type": valid.case_type,
        "policy": valid.policy,
        "payload": valid.payload,
        "derived": valid.derived,
        "personal": valid.personal,
        "content_hash": valid.content_hash,
    }


def partial_row(number: int, obj: Any) -> dict[str, Any] | None:
    """What a rejected line still tells the other checks: a case it opens, an id it uses."""

    if not isinstance(obj, Mapping):
        return None

    def text(name: str, width: int) -> str | None:
        # Text the database cannot hold (a NUL, a lone surrogate) tells the other checks
        # nothing usable; the rest is cut to its staging column's width (PostgreSQL
        # refuses longer text where SQLite would keep it).
        value = obj.get(name)
        if not isinstance(value, str) or "\x00" in value or printable(value) != value:
            return None
        return value[:width]

    return {
        "line": number,
        "event_id": text("event_id", 200),
        "case_id": text("case_id", 200),
        "type": text("type", 40),
        "valid": False,
        "duplicate": False,
        "at": None,
        "case_type": None,
        "policy": None,
        "payload": None,
        "derived": None,
        "personal": None,
        "content_hash": None,
    }
