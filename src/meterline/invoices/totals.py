"""The invoice of one contract cycle: every line's charges and the totals (pure).

`compute_invoice(contract, cycle, usage, credit_balance)` is the single entry point.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from meterline.invoices.amounts import ZERO, frac, money, money_down
from meterline.invoices.cycles import Cycle, proration_factor
from meterline.invoices.details import describe
from meterline.invoices.lines import DEDUCTION_TYPES, DISCOUNTABLE_TYPES, USAGE_TYPES, Line, contract_lines
from meterline.invoices.pricing import (
    discount_amount,
    installments_amount,
    line_discount,
    line_end,
    line_in_force,
    subscription_periods,
    usage_amount,
)


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """One invoice line item (one product line of the contract), rounded to 0.01."""

    index: int
    display_name: str
    pricing_type: str
    usage: Decimal
    subtotal: Decimal = ZERO
    overage: Decimal = ZERO
    discount: Decimal = ZERO
    credits_used: Decimal = ZERO
    tax: Decimal = ZERO
    # What a reader sees besides the money (invoices.details.describe); never read by totals.
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount - self.credits_used + self.tax


@dataclass(frozen=True, slots=True)
class InvoiceAmounts:
    """The figures of one invoice; `total == subtotal - discount - credits_used + tax`."""

    cycle: Cycle
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    discount: Decimal
    overage: Decimal
    credits_used: Decimal
    tax: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount - self.credits_used + self.tax

    @property
    def amount(self) -> Decimal:
        return self.total


@dataclass
class _Pool:
    """A product group's commitment shared by its lines without a commitment of their own."""

    commitment: Mapping[str, Any]
    remaining: Fraction
    price_billed: bool = False


@dataclass
class _Draft:
    line: Line
    usage: Fraction
    charge: Fraction = Fraction(0)
    overage: Fraction = Fraction(0)


def _commitment_charge(
    line: Line, units: Fraction, commitment: Mapping[str, Any], pool: _Pool | None, factor: Fraction
) -> tuple[Fraction, Fraction]:
    """(charge, overage) of a usage line under a commitment (own, or the group's pool)."""
    pricing = line.pricing
    price = frac(commitment.get("price")) * factor
    kind = str(commitment.get("type") or "UNITS")
    if pool is None:
        committed = price
        capacity = price if kind == "PRICE" else frac(commitment.get("units"))
    else:
        committed = Fraction(0) if pool.price_billed else price
        pool.price_billed = True
        capacity = pool.remaining
    if kind == "PRICE":
        full = usage_amount(pricing, units)
        covered = min(full, capacity)
        over = full - covered
    else:
        covered = min(units, capacity)
        over = usage_amount(pricing, units - covered)
    if pool is not None:
        pool.remaining -= covered
    return committed + over, over


def _pools(contract: Mapping[str, Any], factor: Fraction) -> dict[int, _Pool]:
    pools: dict[int, _Pool] = {}
    for index, group in enumerate(contract.get("productGroups") or []):
        commitment = group.get("commitment")
        if commitment:
            kind = str(commitment.get("type") or "UNITS")
            capacity = frac(commitment.get("price")) * factor if kind == "PRICE" else frac(commitment.get("units"))
            pools[index] = _Pool(commitment, capacity)
    return pools


def _charge_line(
    contract: Mapping[str, Any], draft: _Draft, cycle: Cycle, factor: Fraction, pools: dict[int, _Pool]
) -> None:
    line = draft.line
    pricing = line.pricing
    kind = line.type
    if kind in DEDUCTION_TYPES or not line_in_force(contract, line.product, cycle):
        return
    if kind == "ONE_TIME":
        draft.charge = frac(pricing.get("price")) if cycle.index == 0 else Fraction(0)
    elif kind == "CONTRACT_TERMS":
        draft.charge = installments_amount(contract, pricing, cycle)
    elif kind == "SUBSCRIPTION":
        periods = subscription_periods(contract, pricing, cycle, line_end(contract, line.product))
        unit = str((pricing.get("subscriptionCadence") or {}).get("unit") or "MONTH")
        # DAY/WEEK cadences already count only the periods inside a partial cycle.
        sub_factor = Fraction(1) if unit in ("DAY", "WEEK") else factor
        draft.charge = periods * frac(pricing.get("price")) * sub_factor
    elif kind in USAGE_TYPES:
        commitment = line.own_commitment
        pool = None
        if commitment is None and line.group_index is not None:
            pool = pools.get(line.group_index)
            commitment = None if pool is None else pool.commitment
        if commitment is None:
            draft.charge = usage_amount(pricing, draft.usage)
        else:
            draft.charge, draft.overage = _commitment_charge(line, draft.usage, commitment, pool, factor)
        base = frac(pricing.get("baseAmount")) * factor
        draft.charge = max(draft.charge, base)


def _group_minimums(contract: Mapping[str, Any], drafts: list[_Draft], cycle: Cycle, factor: Fraction) -> None:
    """A group's `baseAmount`: its usage lines together bill at least this (shortfall on the first)."""
    for index, group in enumerate(contract.get("productGroups") or []):
        base = frac(group.get("baseAmount")) * factor
        members = [
            d
            for d in drafts
            if d.line.group_index == index
            and d.line.type in USAGE_TYPES
            and line_in_force(contract, d.line.product, cycle)
        ]
        if base <= 0 or not members:
            continue
        shortfall = base - sum((d.charge for d in members), Fraction(0))
        if shortfall > 0:
            members[0].charge += shortfall


def _deduction(line: Line, subtotal: Fraction, cycle: Cycle) -> Fraction:
    """A deduction is one amount spread over its `installments` first cycles (none or 0: one
    installment, the whole deduction in the first cycle)."""
    pricing = line.pricing
    n = max(int(pricing.get("installments") or 0), 1)
    if cycle.index >= n:
        return Fraction(0)
    if line.type == "FIXED_DEDUCTION":
        whole = money(frac(pricing.get("amountToDeduct")))
        return Fraction(split_evenly(whole, n)[cycle.index])
    return frac(pricing.get("percentageToDeduct")) * subtotal / 100 / n


def split_evenly(whole: Decimal, parts: int) -> list[Decimal]:
    """`whole` (cents) in `parts` shares differing by at most a cent, the larger first; they
    add up to `whole` exactly."""
    cents = int(whole * 100)
    share, extra = divmod(cents, parts)
    return [Decimal(share + (1 if k < extra else 0)).scaleb(-2) for k in range(parts)]


def _detail(contract: Mapping[str, Any], draft: _Draft, cycle: Cycle, factor: Fraction) -> dict[str, Any]:
    line = draft.line
    return {
        "lineIndex": line.index,
        "linePath": line.path,
        "catalogProductId": line.product.get("catalogProductId"),
        **describe(contract, line, draft.usage, cycle, factor),
    }


def compute_invoice(
    contract: Mapping[str, Any],
    cycle: Cycle,
    usage: Mapping[int, Decimal] | None = None,
    credit_balance: Decimal = ZERO,
) -> InvoiceAmounts:
    """The invoice of `contract` for `cycle`.

    usage: line index (contract order, see lines.contract_lines) -> usage u in the cycle;
    missing lines used nothing. credit_balance: the customer's balance at issue.
    """
    usage = usage or {}
    factor = proration_factor(contract, cycle)
    pools = _pools(contract, factor)
    drafts = [_Draft(line, frac(usage.get(line.index, 0))) for line in contract_lines(contract)]
    for draft in drafts:
        _charge_line(contract, draft, cycle, factor, pools)
    _group_minimums(contract, drafts, cycle, factor)

    amounts: list[LineAmounts] = []
    for draft in drafts:
        subtotal = money(draft.charge)
        discount = ZERO
        if draft.line.type in DISCOUNTABLE_TYPES:
            discount = money(discount_amount(line_discount(draft.line.pricing), Fraction(subtotal), cycle))
        amounts.append(
            LineAmounts(
                index=draft.line.index,
                display_name=draft.line.display_name,
                pricing_type=draft.line.type,
                usage=Decimal(draft.usage.numerator) / Decimal(draft.usage.denominator),
                subtotal=subtotal,
                overage=money(draft.overage),
                discount=discount,
                detail=_detail(contract, draft, cycle, factor),
            )
        )
    subtotal = sum((a.subtotal for a in amounts), ZERO)
    remaining = subtotal - sum((a.discount for a in amounts), ZERO)
    for pos, draft in enumerate(drafts):
        if draft.line.type not in DEDUCTION_TYPES or not line_in_force(contract, draft.line.product, cycle):
            continue
        deduction = min(money(_deduction(draft.line, Fraction(subtotal), cycle)), max(remaining, ZERO))
        remaining -= deduction
        line = amounts[pos]
        amounts[pos] = replace(line, subtotal=ZERO, overage=ZERO, discount=deduction)

    discount = sum((a.discount for a in amounts), ZERO)
    payable = max(subtotal - discount, ZERO)
    balance = max(credit_balance, ZERO)
    credits_used = payable if balance >= payable else money_down(balance)
    return InvoiceAmounts(
        cycle=cycle,
        lines=tuple(amounts),
        subtotal=subtotal,
        discount=discount,
        overage=sum((a.overage for a in amounts), ZERO),
        credits_used=credits_used,
    )
