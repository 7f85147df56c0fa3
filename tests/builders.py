"""Small builders for event lines, so tests read like the casework they describe."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import pytest

from casewatch.engine.evaluators import durable_loads

_ids = itertools.count(1)

DASH_HIGH = [True] * 14 + [False] * 10
DASH_MEDIUM = [True] * 10 + [False] * 14
DASH_STANDARD = [True] * 9 + [False] * 15


def ev(
    event_type: str, case_id: str, at: str, event_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "type": event_type,
        "case_id": case_id,
        "at": at,
        **fields,
    }


def opened(case_id: str, at: str, case_type: str = "asb", **fields: Any) -> dict[str, Any]:
    return ev("case_opened", case_id, at, case_type=case_type, **fields)


def assessed(
    case_id: str, at: str, level: str, matrix: str = "asb", **fields: Any
) -> dict[str, Any]:
    return ev("risk_assessed", case_id, at, matrix=matrix, level=level, **fields)


def jsonl(events: Iterable[dict[str, Any] | str]) -> bytes:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events).encode()


# durable-rules' C core loads on Python 3.11 and 3.12 only: tests of it skip elsewhere.
needs_durable = pytest.mark.skipif(
    not durable_loads(), reason="durable-rules does not load on this Python"
)
