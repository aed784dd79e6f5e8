"""Charges of one product line in one cycle (pure, exact; rounded once per figure).

See docs/semantics.md "Invoices" for every rule and every choice made here.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from meterline.invoices.amounts import frac, instant_us
from meterline.invoices.cycles import US_PER_DAY, Cycle, add_months, contract_end, contract_start
from meterline.kit.times import from_us

_UNIT_DAYS = {"DAY": 1, "WEEK": 7}
_UNIT_MONTHS = {"MONTH": 1, "YEAR": 12}


# --- usage pricing ---------------------------------------------------------------------


def per_unit_amount(pricing: Mapping[str, Any], units: Fraction) -> Fraction:
    """PER_UNIT: `units` rounded up to a multiple of `chunkSize` (when set), times `price`."""
    if units <= 0:
        return Fraction(0)
    chunk = frac(pricing.get("chunkSize"))
    if chunk > 0:
        units = math.ceil(units / chunk) * chunk
    return units * frac(pricing.get("price"))


def tier_units(tier: Mapping[str, Any], units: Fraction) -> Fraction:
    """How many of `units` fall in the tier's `[fromInclusive, toExclusive)`."""
    low = frac(tier.get("fromInclusive"))
    high = tier.get("toExclusive")
    top = units if high is None else min(units, frac(high))
    return max(top - low, Fraction(0))


def _upgraded_amount(tiers: list[Mapping[str, Any]], units: Fraction) -> Fraction:
    """TIERED with autoUpgrade: the usage is "upgraded" to the highest tier it reaches:
    every unit that falls in some tier is billed at that tier's rate (packages of its
    packageSize when set), plus that tier's flatFee."""
    reached = [(frac(t.get("fromInclusive")), t) for t in tiers if tier_units(t, units) > 0]
    if not reached:
        return Fraction(0)
    top = max(reached, key=lambda pair: pair[0])[1]
    billed = sum((tier_units(t, units) for t in tiers), Fraction(0))
    rate, package = frac(top.get("rate")), frac(top.get("packageSize"))
    amount = math.ceil(billed / package) * rate if package > 0 else billed * rate
    return amount + frac(top.get("flatFee"))


def tiered_amount(pricing: Mapping[str, Any], units: Fraction) -> Fraction:
    """TIERED, graduated: every tier bills the units of `units` that fall in it
    (with autoUpgrade: all of them at the highest tier reached, see _upgraded_amount)."""
    if pricing.get("autoUpgrade") is True:
        return _upgraded_amount(list(pricing.get("tiers") or []), units)
    total = Fraction(0)
    for tier in pricing.get("tiers") or []:
        inside = tier_units(tier, units)
        if inside <= 0:
            continue
        rate = frac(tier.get("rate"))
        package = frac(tier.get("packageSize"))
        total += math.ceil(inside / package) * rate if package > 0 else inside * rate
        total += frac(tier.get("flatFee"))
    return total


def usage_amount(pricing: Mapping[str, Any], units: Fraction) -> Fraction:
    kind = pricing.get("type")
    if kind == "PER_UNIT":
        return per_unit_amount(pricing, units)
    if kind == "TIERED":
        return tiered_amount(pricing, units)
    return Fraction(0)


# --- fixed and recurring charges ---------------------------------------------------------


def line_end(contract: Mapping[str, Any], product: Mapping[str, Any]) -> int | None:
    """When the line stops being in force: `startDate + scheduling.duration` (value > 0)."""
    duration = (product.get("scheduling") or {}).get("duration") or {}
    value = duration.get("value") or 0
    unit = duration.get("unit")
    if value <= 0 or (unit not in _UNIT_DAYS and unit not in _UNIT_MONTHS):
        return None
    return _step(contract_start(contract), str(unit), int(value))


def line_in_force(contract: Mapping[str, Any], product: Mapping[str, Any], cycle: Cycle) -> bool:
    end = line_end(contract, product)
    return end is None or cycle.start < end


def _step(anchor: int, unit: str, count: int) -> int:
    if unit in _UNIT_DAYS:
        return anchor + count * _UNIT_DAYS[unit] * US_PER_DAY
    return add_months(anchor, count * _UNIT_MONTHS[unit])


def subscription_periods(
    contract: Mapping[str, Any], pricing: Mapping[str, Any], cycle: Cycle, until: int | None
) -> int:
    """How many cadence periods (counted from startDate) start in the cycle (and before `until`)."""
    cadence = pricing.get("subscriptionCadence") or {}
    unit = str(cadence.get("unit") or "MONTH")
    if unit not in _UNIT_DAYS and unit not in _UNIT_MONTHS:
        unit = "MONTH"
    value = max(int(cadence.get("value") or 1), 1)
    anchor = contract_start(contract)
    stop = cycle.end if until is None else min(cycle.end, until)
    if stop <= cycle.start:
        return 0
    if unit in _UNIT_DAYS:
        period = value * _UNIT_DAYS[unit] * US_PER_DAY
        first = -(-(cycle.start - anchor) // period)
        last = -(-(stop - anchor) // period)
        return max(last - max(first, 0), 0)
    months = value * _UNIT_MONTHS[unit]
    # Skip quickly to near the cycle, then count period starts in [cycle.start, stop).
    k = max((_months_between(anchor, cycle.start) // months) - 1, 0)
    count = 0
    while True:
        at = add_months(anchor, k * months)
        if at >= stop:
            return count
        if at >= cycle.start:
            count += 1
        k += 1


def _months_between(a: int, b: int) -> int:
    da, db = from_us(a), from_us(b)
    return (db.year - da.year) * 12 + db.month - da.month


def installments_amount(contract: Mapping[str, Any], pricing: Mapping[str, Any], cycle: Cycle) -> Fraction:
    """CONTRACT_TERMS: installments dated in the cycle, or `price` in the first cycle."""
    installments = pricing.get("installments") or []
    if not installments:
        return frac(pricing.get("price")) if cycle.index == 0 else Fraction(0)
    end = contract_end(contract)
    total = Fraction(0)
    for item in installments:
        at = instant_us(item["installmentDate"])
        inside = cycle.start <= at < cycle.end
        early = cycle.index == 0 and at < cycle.start  # dated before startDate: first cycle
        late = end is not None and cycle.end == end and at >= end  # on/after endDate: last cycle
        if inside or early or late:
            total += frac(item.get("amount"))
    return total


@dataclass(frozen=True, slots=True)
class Discount:
    kind: str  # FIXED | PERCENTAGE
    amount: Fraction
    recurring: int | None
    name: str


def line_discount(pricing: Mapping[str, Any]) -> Discount | None:
    raw = pricing.get("discount")
    if not raw:
        return None
    recurring = raw.get("recurring")
    return Discount(
        kind=str(raw.get("type") or "FIXED"),
        amount=frac(raw.get("amount")),
        recurring=None if recurring is None else int(recurring),
        name=str(raw.get("name") or ""),
    )


def discount_amount(discount: Discount | None, charge: Fraction, cycle: Cycle) -> Fraction:
    """FIXED `amount` or PERCENTAGE `amount`% of the charge, at most the charge, in the
    first `recurring` cycles (every cycle when unset)."""
    if discount is None or charge <= 0:
        return Fraction(0)
    if discount.recurring is not None and cycle.index >= discount.recurring:
        return Fraction(0)
    value = discount.amount if discount.kind == "FIXED" else discount.amount * charge / 100
    return min(max(value, Fraction(0)), charge)
