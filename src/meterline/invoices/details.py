"""What a line item shows a reader besides its money (pure): the product line it bills,
the quantity, the unit price or the tier breakdown, the commitment and proration.

Descriptive only: the charge itself is computed by invoices.totals and never read from
here (totals do not move). Amounts in a tier breakdown are exact (unrounded); the line's
charge is the rounded sum. Rules: docs/semantics.md "Readable line items".
"""

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from meterline.invoices.amounts import frac
from meterline.invoices.cycles import Cycle
from meterline.invoices.lines import DEDUCTION_TYPES, USAGE_TYPES, Line
from meterline.invoices.pricing import line_end, line_in_force, subscription_periods, tier_units


def dec(value: Fraction) -> Decimal:
    """An exact fraction as a Decimal (exact for the decimal inputs of a contract)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def _tiers(pricing: Mapping[str, Any], units: Fraction) -> list[dict[str, Any]]:
    """The tiers of a TIERED pricing with the units of `units` each bills and its amount."""
    tiers = sorted(pricing.get("tiers") or [], key=lambda t: frac(t.get("fromInclusive")))
    upgraded = pricing.get("autoUpgrade") is True
    reached = [t for t in tiers if tier_units(t, units) > 0]
    top = reached[-1] if reached else None
    out = []
    for tier in tiers:
        inside = tier_units(tier, units)
        if upgraded:  # every unit at the highest tier reached (pricing._upgraded_amount)
            inside = sum((tier_units(t, units) for t in tiers), Fraction(0)) if tier is top else Fraction(0)
        rate, package = frac(tier.get("rate")), frac(tier.get("packageSize"))
        amount = Fraction(0)
        if inside > 0:
            amount = math.ceil(inside / package) * rate if package > 0 else inside * rate
            amount += frac(tier.get("flatFee"))
        out.append(
            {
                "fromInclusive": tier.get("fromInclusive"),
                "toExclusive": tier.get("toExclusive"),
                "rate": tier.get("rate"),
                "packageSize": tier.get("packageSize"),
                "flatFee": tier.get("flatFee"),
                "units": dec(inside),
                "amount": dec(amount),
            }
        )
    return out


def _usage(line: Line, usage: Fraction, out: dict[str, Any]) -> None:
    pricing = line.pricing
    commitment = line.own_commitment
    billed = usage
    if commitment is not None:
        kind = str(commitment.get("type") or "UNITS")
        entry: dict[str, Any] = {"type": kind, "units": commitment.get("units"), "price": commitment.get("price")}
        if kind == "UNITS":
            covered = min(usage, frac(commitment.get("units")))
            entry["coveredUnits"] = dec(covered)
            billed = usage - covered
        out["commitment"] = entry
    elif line.group_index is not None and (line.group or {}).get("commitment"):
        out["commitment"] = {"productGroup": line.group_index}  # shared by the group's lines
    out["billedQuantity"] = dec(billed)
    if line.type == "PER_UNIT":
        chunk = frac(pricing.get("chunkSize"))
        if chunk > 0 and billed > 0:
            out["billedQuantity"] = dec(math.ceil(billed / chunk) * chunk)
        out["unitPrice"] = pricing.get("price")
    else:
        out["tiers"] = _tiers(pricing, billed)


def describe(
    contract: Mapping[str, Any], line: Line, usage: Fraction, cycle: Cycle, factor: Fraction
) -> dict[str, Any]:
    """The descriptive fields of one line item: pricingType, quantity, and per pricing
    billedQuantity + unitPrice (PER_UNIT) or tiers (TIERED), commitment, unitPrice and
    periods (SUBSCRIPTION), prorationFactor (when not 1)."""
    out: dict[str, Any] = {"pricingType": line.type, "quantity": None, "unitPrice": None}
    if line.type in DEDUCTION_TYPES:
        return out
    in_force = line_in_force(contract, line.product, cycle)
    pricing = line.pricing
    if line.type in USAGE_TYPES:
        out["quantity"] = dec(usage)
        _usage(line, usage, out)
    elif line.type == "SUBSCRIPTION":
        periods = subscription_periods(contract, pricing, cycle, line_end(contract, line.product)) if in_force else 0
        out["quantity"], out["unitPrice"] = periods, pricing.get("price")
    elif line.type == "ONE_TIME":
        out["quantity"], out["unitPrice"] = int(in_force and cycle.index == 0), pricing.get("price")
    if factor != 1 and line.type != "ONE_TIME":
        out["prorationFactor"] = dec(factor).quantize(Decimal("0.0000000001"))  # shown rounded; billed exact
    return out
