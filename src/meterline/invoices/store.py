"""Frozen figures of an issued invoice, as a JSON document (exact decimals)."""

from decimal import Decimal
from typing import Any

from meterline.invoices.cycles import Cycle
from meterline.invoices.totals import InvoiceAmounts, LineAmounts
from meterline.kit.decimals import EXACT


def to_doc(amounts: InvoiceAmounts) -> dict[str, Any]:
    c = amounts.cycle
    return {
        "cycle": [c.index, c.start, c.end, c.full_start, c.full_end],
        "subtotal": amounts.subtotal,
        "discount": amounts.discount,
        "overage": amounts.overage,
        "creditsUsed": amounts.credits_used,
        "tax": amounts.tax,
        "lines": [
            {
                "index": x.index,
                "displayName": x.display_name,
                "pricingType": x.pricing_type,
                "usage": x.usage,
                "subtotal": x.subtotal,
                "overage": x.overage,
                "discount": x.discount,
                "creditsUsed": x.credits_used,
                "tax": x.tax,
                "detail": dict(x.detail),
            }
            for x in amounts.lines
        ],
    }


def _d(value: Any) -> Decimal:
    """A money figure back from JSON (integers come back as int): exactly, with two places."""
    return Decimal(value).quantize(Decimal("0.01"), context=EXACT)


def from_doc(doc: dict[str, Any]) -> InvoiceAmounts:
    index, start, end, full_start, full_end = (int(v) for v in doc["cycle"])
    lines = tuple(
        LineAmounts(
            index=int(x["index"]),
            display_name=str(x["displayName"]),
            pricing_type=str(x["pricingType"]),
            usage=Decimal(x["usage"]),
            subtotal=_d(x["subtotal"]),
            overage=_d(x["overage"]),
            discount=_d(x["discount"]),
            credits_used=_d(x["creditsUsed"]),
            tax=_d(x["tax"]),
            detail=x.get("detail") or {},  # invoices issued before line details: none
        )
        for x in doc["lines"]
    )
    return InvoiceAmounts(
        cycle=Cycle(index, start, end, full_start, full_end),
        lines=lines,
        subtotal=_d(doc["subtotal"]),
        discount=_d(doc["discount"]),
        overage=_d(doc["overage"]),
        credits_used=_d(doc["creditsUsed"]),
        tax=_d(doc["tax"]),
    )
