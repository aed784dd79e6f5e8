"""When a contract line's usage in its window crosses a pricing mark (pure, exact).

The rules of TierCrossed, FinalTierExceeded, CommitmentCrossed and
CurrencyCommitmentUsageCrossed (docs/semantics.md "Notifications beyond Overage"); the
scan that applies them is webhooks.linecrossings. `consumed` is the line's usage in its
current window, as the consumption endpoint counts it.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from meterline.invoices.amounts import frac
from meterline.invoices.pricing import tier_units, usage_amount

ONE = Decimal(1)


def sorted_tiers(pricing: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A TIERED line's tiers from the lowest `fromInclusive` up ([] for other pricings)."""
    if pricing.get("type") != "TIERED":
        return []
    return sorted(pricing.get("tiers") or [], key=lambda t: frac(t.get("fromInclusive")))


def tiers_entered(tiers: Sequence[Mapping[str, Any]], consumed: Decimal) -> list[int]:
    """Indexes (in sorted_tiers order) of the tiers above the first that `consumed` has
    entered: some of its units fall in the tier, i.e. consumed > fromInclusive."""
    units = frac(consumed)
    return [k for k, tier in enumerate(tiers) if k > 0 and tier_units(tier, units) > 0]


def final_tier_entered(tiers: Sequence[Mapping[str, Any]], consumed: Decimal) -> bool:
    """The last tier (of two or more) has been entered."""
    return len(tiers) > 1 and (len(tiers) - 1) in tiers_entered(tiers, consumed)


def commitment_exceeded(committed_units: Decimal, consumed: Decimal) -> bool:
    """CommitmentCrossed: usage went beyond the committed units (the first unit billed as
    overage): committed > 0 and consumed > committed. Unlike CommitmentUsageCrossed it has
    no threshold and is not reached by using exactly the commitment."""
    return committed_units > 0 and consumed > committed_units


def usage_value(pricing: Mapping[str, Any], consumed: Decimal) -> Decimal:
    """The money value of `consumed` units under the line's usage pricing (PER_UNIT chunks,
    TIERED tiers; no commitment, no baseAmount), exact."""
    value: Fraction = usage_amount(pricing, frac(consumed))
    return Decimal(value.numerator) / Decimal(value.denominator)


def currency_crossed(threshold: Decimal | None, commitment_price: Decimal, value: Decimal) -> bool:
    """CurrencyCommitmentUsageCrossed: value > 0 and value >= (threshold or 1) x price,
    for a commitment with a price > 0."""
    return commitment_price > 0 and value > 0 and value >= (threshold or ONE) * commitment_price


def tier_wire(tiers: Sequence[Mapping[str, Any]], index: int) -> dict[str, Any]:
    tier = tiers[index]
    return {
        "index": index,
        "fromInclusive": tier.get("fromInclusive"),
        "toExclusive": tier.get("toExclusive"),
        "rate": tier.get("rate"),
        "flatFee": tier.get("flatFee"),
        "packageSize": tier.get("packageSize"),
    }
