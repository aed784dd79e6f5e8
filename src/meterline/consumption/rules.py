"""Consumption figures of a line and the merge of several lines of one product. Pure, no I/O."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from meterline.kit.decimals import EXACT

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Figures:
    provisioned: Decimal
    consumed: Decimal
    remaining: Decimal
    exceeded: Decimal
    usage_percentage: Decimal
    has_access: bool


def usage_percentage(provisioned: Decimal, consumed: Decimal) -> Decimal:
    """consumed / provisioned * 100 rounded half-up to 2 decimals; provisioned 0: 0 if consumed 0, else 100."""
    if provisioned == 0:
        return Decimal(0) if consumed == 0 else HUNDRED
    # EXACT: up to 78 digits for domain amounts (docs/semantics.md "Numeric domain").
    ratio = EXACT.divide(EXACT.multiply(consumed, HUNDRED), provisioned)
    return ratio.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def has_access(strategy: str | None, provisioned: Decimal, consumed: Decimal, credit_balance: Decimal) -> bool:
    """BLOCK: consumed < provisioned; TOP_UP: that or a positive credit balance; IGNORE, UPGRADE_PLAN: true."""
    if strategy == "BLOCK":
        return consumed < provisioned
    if strategy == "TOP_UP":
        return consumed < provisioned or credit_balance > 0
    return True


def figures(
    *, provisioned: Decimal, consumed: Decimal, strategy: str | None, credit_balance: Decimal = Decimal(0)
) -> Figures:
    return Figures(
        provisioned=provisioned,
        consumed=consumed,
        remaining=max(EXACT.subtract(provisioned, consumed), Decimal(0)),
        exceeded=max(EXACT.subtract(consumed, provisioned), Decimal(0)),
        usage_percentage=usage_percentage(provisioned, consumed),
        has_access=has_access(strategy, provisioned, consumed, credit_balance),
    )


class LineShare(NamedTuple):
    """What one line in force contributes to its product's entry."""

    provisioned: Decimal
    strategy: str | None
    window_start_us: int
    window_end_us: int
    contract_start_us: int
    seq: int = 0  # tie-break between contracts that started at the same instant: the later created


class Merged(NamedTuple):
    provisioned: Decimal
    window_start_us: int
    window_end_us: int
    strategies: tuple[str | None, ...]


def merge(lines: Sequence[LineShare]) -> Merged:
    """Provisioned amounts add; the window is the line's whose contract started last."""
    if not lines:
        raise ValueError("nothing to merge")
    last = max(lines, key=lambda s: (s.contract_start_us, s.seq))
    total = Decimal(0)
    for s in lines:
        total = EXACT.add(total, s.provisioned)
    return Merged(
        provisioned=total,
        window_start_us=last.window_start_us,
        window_end_us=last.window_end_us,
        strategies=tuple(s.strategy for s in lines),
    )


def merged_has_access(
    lines: Sequence[LineShare], *, provisioned: Decimal, consumed: Decimal, credit_balance: Decimal
) -> bool:
    """hasAccess holds if any line grants it, each judged on the merged provisioned and consumed."""
    return any(has_access(s.strategy, provisioned, consumed, credit_balance) for s in lines)
