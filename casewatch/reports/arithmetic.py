"""Report arithmetic (contract section 4), pure: percentages, rounding, RAG and trends."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from casewatch.engine.policies import Policy

Direction = Literal["higher", "lower", "neutral"]
DIRECTIONS: Final = ("higher", "lower", "neutral")
NO_CHANGE: Final = "no change"


def one_decimal(value: Decimal) -> float:
    """Half-up to one decimal, as a PSG's spreadsheet would round."""
    return float(value.quantize(Decimal("0.1"), ROUND_HALF_UP))


def percentage(met: int, breached: int) -> float | None:
    """100 x met / (met + breached), rounded half-up to one decimal; None when undecided."""
    return share(met, met + breached)


def share(numerator: int, denominator: int) -> float | None:
    """100 x numerator / denominator to one decimal; None when there is nothing to divide."""
    if denominator == 0:
        return None
    return one_decimal(Decimal(100 * numerator) / Decimal(denominator))


def ratio(numerator: int, denominator: int) -> float | None:
    if denominator == 0:
        return None
    return one_decimal(Decimal(numerator) / Decimal(denominator))


def rag(pct: float | None, policy: Policy) -> str | None:
    """Green at or above target; amber from target - band up to it; red below."""
    return rate(pct, policy.target_pct, policy.amber_band, "higher")


def rate(
    value: float | None, target: float | None, band: float, direction: Direction
) -> str | None:
    """RAG against a target. Where lower is better the band lies above the target."""
    if value is None or target is None or direction == "neutral":
        return None
    gap = value - target if direction == "higher" else target - value
    if gap >= 0:
        return "green"
    if gap >= -band:
        return "amber"
    return "red"


def trend(
    current: float | None, before: float | None, direction: Direction
) -> tuple[float | None, str | None]:
    """The change since the previous period (points, for percentages) and its word.

    CSP performance packs say `better`, `no change` or `worse`; a measure with no better
    direction (a count of cases opened, say) says `higher` or `lower` instead.
    """
    if current is None or before is None:
        return None, None
    change = one_decimal(Decimal(str(current)) - Decimal(str(before)))
    if change == 0:
        return 0.0, NO_CHANGE
    if direction == "neutral":
        return change, "higher" if change > 0 else "lower"
    improved = change > 0 if direction == "higher" else change < 0
    return change, "better" if improved else "worse"
