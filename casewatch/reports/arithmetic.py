"""Report arithmetic (contract section 4), pure: percentages, rounding and RAG."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from casewatch.engine.policies import Policy


def percentage(met: int, breached: int) -> float | None:
    """100 x met / (met + breached), rounded half-up to one decimal; None when undecided."""
    decided = met + breached
    if decided == 0:
        return None
    value = (Decimal(100 * met) / Decimal(decided)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


def rag(pct: float | None, policy: Policy) -> str | None:
    """Green at or above target; amber from target - band up to it; red below."""
    if pct is None:
        return None
    if pct >= policy.target_pct:
        return "green"
    if pct >= policy.target_pct - policy.amber_band:
        return "amber"
    return "red"
