"""The TOTP arithmetic against RFC 6238's published test vectors (Appendix B, SHA-1)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from casewatch.service.two_factor import step_of

# RFC 6238 Appendix B: the SHA-1 key is the ASCII string "12345678901234567890"; the
# 8-digit codes there end in the 6-digit codes an authenticator app shows.
SECRET = base64.b32encode(b"12345678901234567890").decode()
VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "eight_digits"), VECTORS)
def test_the_rfc_code_is_found_at_its_time_step(unix_time: int, eight_digits: str) -> None:
    """Each published code is accepted at its time, in step unix_time // 30."""
    now = datetime.fromtimestamp(unix_time, UTC)
    assert step_of(SECRET, eight_digits[-6:], now) == unix_time // 30


@pytest.mark.parametrize(("unix_time", "eight_digits"), VECTORS)
def test_a_code_is_refused_two_steps_away(unix_time: int, eight_digits: str) -> None:
    """One step of drift is allowed either way; two are not."""
    code = eight_digits[-6:]
    step = unix_time // 30
    for moved in (-2, 2):
        if step + moved < 2:  # before 1970's second step: no earlier steps to look at
            continue
        assert step_of(SECRET, code, datetime.fromtimestamp((step + moved) * 30 + 1, UTC)) is None
    for moved in (-1, 1):
        found = step_of(SECRET, code, datetime.fromtimestamp((step + moved) * 30 + 1, UTC))
        assert found == step
