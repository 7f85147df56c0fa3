"""Victims linked across cases: the partnership's person reference and its pseudonym.

`victim.reference` on `case_opened` is personal data: it is stored and erased with the
rest of the victim's details. What links cases is a keyed pseudonym of it, HMAC-SHA256
under a secret kept in this deployment's database: the same reference always gives the
same link, the link cannot be turned back into the reference (nor guessed from a list of
likely references without the secret), so it stays on the case when the reference is
erased and every flag, figure and replay comes out the same.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from casewatch.cases.problems import Problem

REFERENCE_FIELD: Final = "reference"
REFERENCE_PATH: Final = "victim.reference"
MAX_REFERENCE_LENGTH: Final = 64


def victim_reference(victim: Mapping[str, Any] | None, problems: list[Problem]) -> str | None:
    """The victim's reference if one is given and usable; a problem (never quoting the
    reference, which is personal data) if it is not."""
    if victim is None or REFERENCE_FIELD not in victim:
        return None
    value = victim[REFERENCE_FIELD]
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(
                REFERENCE_PATH,
                "'victim.reference' must be non-empty text (the partnership's reference)",
            )
        )
        return None
    if len(value) > MAX_REFERENCE_LENGTH:
        problems.append(
            Problem(
                REFERENCE_PATH,
                f"'victim.reference' is longer than {MAX_REFERENCE_LENGTH} characters",
            )
        )
        return None
    if not value.isprintable():
        problems.append(
            Problem(
                REFERENCE_PATH,
                "'victim.reference' holds a character that cannot be printed "
                "(a tab, a line break or a control character)",
            )
        )
        return None
    return value


def victim_link(secret: bytes, reference: str) -> str:
    """The link key of a reference: equal references give equal keys."""
    return hmac.new(secret, reference.encode("utf-8"), hashlib.sha256).hexdigest()
