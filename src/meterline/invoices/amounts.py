"""Exact amounts and instants read from a stored contract (wire shape, camelCase keys).

Amounts are computed as exact fractions and rounded once, half-up to 0.01, per figure.
"""

from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from meterline.kit.decimals import EXACT
from meterline.kit.times import to_us

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def frac(value: Any) -> Fraction:
    """An exact fraction from a Decimal, int or decimal string (never a float); None is 0."""
    if value is None:
        return Fraction(0)
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amounts must be finite")
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(Decimal(value))
    raise TypeError(f"not an exact amount: {type(value).__name__}")


def money(value: Fraction) -> Decimal:
    """Round an exact amount half-up (away from zero) to 0.01."""
    cents = abs(value) * 100
    whole = cents.numerator // cents.denominator
    if (cents - whole) * 2 >= 1:
        whole += 1
    out = Decimal(whole).scaleb(-2, context=EXACT)
    return -out if value < 0 else out


def money_down(value: Decimal) -> Decimal:
    """Round towards zero to 0.01 (used where rounding up could exceed a balance)."""
    return value.quantize(CENT, rounding=ROUND_DOWN, context=EXACT)


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def instant_us(value: Any) -> int:
    """An instant as integer microseconds UTC, from int microseconds, a datetime or ISO text."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an instant")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return to_us(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return to_us(dt)
    raise TypeError(f"not an instant: {type(value).__name__}")
