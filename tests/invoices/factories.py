"""Contract dicts in the stored wire shape (camelCase keys, amounts as Decimal)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

D = Decimal


def line(
    pricing: dict[str, Any],
    *,
    name: str = "line",
    billing_day: int | None = None,
    commitment: dict[str, Any] | None = None,
    duration: dict[str, Any] | None = None,
    calendar_aligned: bool | None = None,
) -> dict[str, Any]:
    scheduling: dict[str, Any] = {"duration": duration or {"unit": "MONTH", "value": 0}}
    if billing_day is not None:
        scheduling["billingDay"] = billing_day
    out: dict[str, Any] = {"displayName": name, "scheduling": scheduling, "pricing": pricing}
    if commitment is not None:
        out["commitment"] = commitment
    if calendar_aligned is not None:
        out["isCalendarAligned"] = calendar_aligned
    return out


def contract(
    *lines: dict[str, Any],
    start: str | datetime = "2026-01-01T00:00:00Z",
    end: str | datetime | None = "2027-01-01T00:00:00Z",
    prorate: bool | None = None,
    groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "Acme 2026",
        "customerId": "0123456789abcdef01234567",
        "startDate": start,
        "products": list(lines),
    }
    if end is not None:
        out["endDate"] = end
    if prorate is not None:
        out["shouldProRateInvoices"] = prorate
    if groups is not None:
        out["productGroups"] = groups
    return out


def one_time(price: str, discount: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "ONE_TIME", "price": D(price)}
    if discount is not None:
        out["discount"] = discount
    return out


def subscription(
    price: str, unit: str = "MONTH", value: int = 1, discount: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "SUBSCRIPTION",
        "price": D(price),
        "subscriptionCadence": {"unit": unit, "value": value},
    }
    if discount is not None:
        out["discount"] = discount
    return out


def per_unit(price: str, chunk: str | None = None, base: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "PER_UNIT", "price": D(price)}
    if chunk is not None:
        out["chunkSize"] = D(chunk)
    if base is not None:
        out["baseAmount"] = D(base)
    return out


def tier(
    low: str, high: str | None, rate: str | None = None, flat: str | None = None, package: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"fromInclusive": D(low)}
    if high is not None:
        out["toExclusive"] = D(high)
    if rate is not None:
        out["rate"] = D(rate)
    if flat is not None:
        out["flatFee"] = D(flat)
    if package is not None:
        out["packageSize"] = D(package)
    return out


def tiered(*tiers: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "TIERED", "tiers": list(tiers)}
    if base is not None:
        out["baseAmount"] = D(base)
    return out


def contract_terms(price: str, installments: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "CONTRACT_TERMS", "price": D(price)}
    if installments is not None:
        out["installments"] = [{"installmentDate": at, "amount": D(amount)} for at, amount in installments]
    return out


def fixed_deduction(amount: str, installments: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FIXED_DEDUCTION", "amountToDeduct": D(amount)}
    if installments is not None:
        out["installments"] = installments
    return out


def percentage_deduction(percent: str, installments: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "PERCENTAGE_DEDUCTION", "percentageToDeduct": D(percent)}
    if installments is not None:
        out["installments"] = installments
    return out


def discount(kind: str, amount: str, recurring: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "promo", "type": kind, "amount": D(amount)}
    if recurring is not None:
        out["recurring"] = recurring
    return out


def commitment(units: str, price: str | None = None, kind: str = "UNITS") -> dict[str, Any]:
    out: dict[str, Any] = {"units": D(units), "type": kind}
    if price is not None:
        out["price"] = D(price)
    return out
