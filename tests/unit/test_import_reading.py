"""Reading an import file's lines in worker processes gives what reading them here gives."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from casewatch.cases.import_reading import READ_CHUNK, StagedLine, read_lines
from casewatch.service.config import Config
from tests.builders import assessed, opened


def _lines() -> list[bytes]:
    """Over two chunks of lines: valid ones, refused ones, unparsable and blank ones."""
    lines = []
    for n in range(READ_CHUNK + 700):
        case_id = f"C{n // 2}"
        if n % 97 == 0:
            lines.append(b"{not json\n")
        elif n % 89 == 0:
            lines.append(b"\n")
        elif n % 2 == 0:
            lines.append(json.dumps(opened(case_id, "2014-06-02T10:00:00Z")).encode() + b"\n")
        else:
            level = "high" if n % 5 else "no such level"
            lines.append(json.dumps(assessed(case_id, "2014-06-03T10:00:00Z", level)).encode())
    return lines


def test_lines_read_in_workers_come_back_as_read_here_in_file_order(config: Config) -> None:
    validator = config.validator()
    lines = _lines()
    here = list(read_lines(validator, lines, workers=1))
    in_workers = list(read_lines(validator, lines, workers=2))
    assert in_workers == here
    assert [s.number for s in here] == sorted(s.number for s in here)
    assert len(here) == len(lines) - sum(1 for line in lines if not line.strip())
    refused = [s for s in here if s.refused]
    assert refused and all(s.problems for s in refused)
    assert any(s.row is not None and s.row["valid"] for s in here)


def test_a_short_file_is_read_here(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """One chunk or less starts no process: an event posted to the API pays for none."""

    def no_processes(method: str) -> None:
        raise AssertionError(f"a {method} process was started")

    monkeypatch.setattr(multiprocessing, "get_context", no_processes)
    line = json.dumps(opened("C1", "2014-06-02T10:00:00Z")).encode()
    [staged] = read_lines(config.validator(), [line], workers=4)
    assert isinstance(staged, StagedLine)
    assert staged.row is not None and staged.row["case_id"] == "C1"
