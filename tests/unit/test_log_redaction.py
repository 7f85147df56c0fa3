"""The log redaction processors, through structlog's own capture_logs: personal and
free-text values are blanked inside nested mappings, lists and tuples, and exception
messages never reach a log line while their frames and types do."""

from __future__ import annotations

import io
import json

import pytest
import structlog
from structlog.testing import capture_logs

from casewatch.service.logging import (
    REDACTED,
    configure_logging,
    get_logger,
    privacy_processors,
    traceback_without_messages,
)

VICTIM = {"name": "Ada Example", "address": "1 Any Street", "phone": "07700 900123"}


@pytest.fixture(autouse=True)
def _structlog_configured() -> None:
    configure_logging(io.StringIO())


def test_nested_mappings_lists_and_tuples_are_redacted() -> None:
    """Personal keys are blanked at any depth, through lists and tuples too, and the
    shape and the harmless values around them are kept."""
    log = get_logger("test")
    with capture_logs(processors=privacy_processors()) as logs:
        log.info(
            "imported",
            case_id="C1",
            victim=VICTIM,
            events=[{"case_id": "C1", "victim": VICTIM}, {"type": "x", "notes": "typed"}],
            pairs=({"reason": "moved away"}, ["C2", {"email": "a@example.org"}]),
            deep={"level": {"rows": [{"professional_judgement": {"reason": "x"}}]}},
        )
    [entry] = logs
    assert entry["case_id"] == "C1"
    assert entry["victim"] == REDACTED
    assert entry["events"] == [
        {"case_id": "C1", "victim": REDACTED},
        {"type": "x", "notes": REDACTED},
    ]
    assert entry["pairs"] == ({"reason": REDACTED}, ["C2", {"email": REDACTED}])
    assert entry["deep"] == {"level": {"rows": [{"professional_judgement": REDACTED}]}}


def test_an_exceptions_message_is_dropped_but_its_frames_are_kept() -> None:
    """log.exception keeps where it failed (frames, type, chained cause) and drops what
    the messages said, which may quote the data that caused it."""
    log = get_logger("test")

    def lookup() -> None:
        raise KeyError(VICTIM["name"])

    def parse() -> None:
        try:
            lookup()
        except KeyError as exc:
            raise ValueError(f"bad victim {VICTIM['address']}") from exc

    with capture_logs(processors=privacy_processors()) as logs:
        try:
            parse()
        except ValueError:
            log.exception("import_failed", case_id="C1")
    [entry] = logs
    text = entry["exception"]
    assert "Ada" not in text and "Any Street" not in text
    assert f"KeyError: {REDACTED}" in text
    assert f"ValueError: {REDACTED}" in text
    assert text.index("KeyError") < text.index("ValueError"), "the cause comes first"
    assert "in parse" in text, "the frames are kept"
    assert "exc_info" not in entry


def test_an_exception_passed_as_exc_info_is_rendered_the_same_way() -> None:
    """exc_info=the exception (not only the one being handled) is redacted too."""
    log = get_logger("test")
    error = RuntimeError(f"name={VICTIM['name']}")
    with capture_logs(processors=privacy_processors()) as logs:
        log.warning("delivery_failed", exc_info=error)
    [entry] = logs
    assert entry["exception"] == traceback_without_messages(error)
    assert "Ada" not in entry["exception"]
    assert entry["exception"].endswith(f"RuntimeError: {REDACTED}\n")


def test_a_rendered_log_line_carries_no_personal_data() -> None:
    """End to end through the configured JSON renderer on a stream."""
    stream = io.StringIO()
    configure_logging(stream)

    def write() -> None:
        raise OSError(f"cannot write {VICTIM['address']}")

    try:
        write()
    except OSError:
        get_logger("test").exception("failed", rows=[{"victim": VICTIM}], ref="C9")
    line = json.loads(stream.getvalue())
    assert line["ref"] == "C9"
    assert line["rows"] == [{"victim": REDACTED}]
    assert "Any Street" not in stream.getvalue()
    assert "OSError" in line["exception"]


def test_get_logger_is_the_filtering_logger_configured() -> None:
    """The annotation tells the truth: the configured wrapper is a filtering bound
    logger, which drops levels below the configured one."""
    stream = io.StringIO()
    configure_logging(stream, level="warning")
    log = get_logger("test")
    log.info("dropped")
    log.warning("kept")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["kept"]
    assert type(structlog.get_logger("x").bind()).__name__.startswith("BoundLoggerFilteringAt")
