"""Invoice figures in Vayu's wire shape (what vayu-py parses for GET /invoices/{id})."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from meterline.invoices.cycles import US_PER_DAY, Cycle, boundary_after
from meterline.invoices.totals import InvoiceAmounts, LineAmounts
from meterline.kit.times import from_us, iso_us

DEFAULT_DUE_DAYS = 30


class BillingStatus(StrEnum):
    """Vayu's InvoiceBillingStatus; "None" is the open cycle's draft."""

    NONE = "None"
    PAID = "Paid"
    REJECTED = "Rejected"
    PENDING_PAYMENT = "PendingPayment"
    OVERDUE = "Overdue"


def due_date(issued_at: int, due_days: str | int | None = None) -> int:
    """Issue date (= cycle end) plus the customer's `dueDays` (default 30 days).

    `dueDays` is Vayu's enum: "SAME_DAY" (the issue instant), "15_DAYS" ... "90_DAYS",
    or "END_OF_MONTH": the end of the issue date's month (00:00 UTC of the next month's
    first day; an invoice issued exactly on a month's first instant is due a month later).
    An int is a number of days.
    """
    if due_days is None:
        return issued_at + DEFAULT_DUE_DAYS * US_PER_DAY
    if isinstance(due_days, int):
        return issued_at + due_days * US_PER_DAY
    if due_days == "SAME_DAY":
        return issued_at
    if due_days == "END_OF_MONTH":
        return boundary_after(issued_at, 1)
    head, _, tail = due_days.partition("_")
    if tail == "DAYS" and head.isdigit():
        return issued_at + int(head) * US_PER_DAY
    return issued_at + DEFAULT_DUE_DAYS * US_PER_DAY


def billing_status(*, issued: bool, paid: bool, due: int | None, now: int) -> BillingStatus:
    """Draft until issued; issued and unpaid is PendingPayment, Overdue once `now > due`."""
    if not issued:
        return BillingStatus.NONE
    if paid:
        return BillingStatus.PAID
    if due is not None and now > due:
        return BillingStatus.OVERDUE
    return BillingStatus.PENDING_PAYMENT


def invoice_name(contract_name: str, cycle: Cycle) -> str:
    start, end = from_us(cycle.start), from_us(cycle.end)
    label = contract_name.strip() or "Invoice"
    return f"{label}: {start:%Y-%m-%d} to {end:%Y-%m-%d}"


@dataclass(frozen=True, slots=True)
class InvoiceMeta:
    """What an invoice carries besides its figures (ids, status, dates as microseconds)."""

    id: str
    account_id: str
    customer_id: str
    contract_id: str | None
    name: str
    billing_status: BillingStatus
    due_date: int | None
    created_at: int
    updated_at: int
    payment_info: Mapping[str, Any] | None = None
    product_names: Mapping[str, str] | None = None  # catalogProductId -> the product's name


def breakdown(
    *, total: Decimal, subtotal: Decimal, overage: Decimal, discount: Decimal, credits_used: Decimal, tax: Decimal
) -> dict[str, Decimal]:
    return {
        "total": total,
        "subtotal": subtotal,
        "overage": overage,
        "discount": discount,
        "creditsUsed": credits_used,
        "tax": tax,
    }


def line_wire(invoice_id: str, line: LineAmounts, product_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Vayu's LineItem (invoiceId, revenueBreakdown) plus what a reader needs (extension
    fields, docs/semantics.md "Readable line items"): the product line it bills
    (lineIndex, linePath, catalogProductId, productName, displayName, pricingType), the
    quantity (usage in the cycle, periods, or 1), billedQuantity and unitPrice or tiers,
    commitment, prorationFactor, and its charge (gross), discount and amount."""
    detail = dict(line.detail)
    product_id = detail.get("catalogProductId")
    out: dict[str, Any] = {
        "invoiceId": invoice_id,
        "revenueBreakdown": breakdown(
            total=line.total,
            subtotal=line.subtotal,
            overage=line.overage,
            discount=line.discount,
            credits_used=line.credits_used,
            tax=line.tax,
        ),
        "lineIndex": line.index,
        "displayName": line.display_name,
        "pricingType": line.pricing_type,
        "quantity": line.usage,
        **detail,
        "productName": None if product_id is None else (product_names or {}).get(str(product_id)),
        "charge": line.subtotal,
        "discount": line.discount,
        "amount": line.total,
    }
    return out


def invoice_wire(amounts: InvoiceAmounts, meta: InvoiceMeta) -> dict[str, Any]:
    """The invoice object (as inside `{"invoice": ...}` and in list items)."""
    body: dict[str, Any] = {
        "id": meta.id,
        "accountId": meta.account_id,
        "customerId": meta.customer_id,
        "contractId": meta.contract_id,
        "name": meta.name,
        "billingCycle": {"startTime": iso_us(amounts.cycle.start), "endTime": iso_us(amounts.cycle.end)},
        "revenueBreakdown": breakdown(
            total=amounts.total,
            subtotal=amounts.subtotal,
            overage=amounts.overage,
            discount=amounts.discount,
            credits_used=amounts.credits_used,
            tax=amounts.tax,
        ),
        "billingStatus": str(meta.billing_status),
        "dueDate": None if meta.due_date is None else iso_us(meta.due_date),
        "lineItems": [line_wire(meta.id, line, meta.product_names) for line in amounts.lines],
        "amount": amounts.amount,
        "createdAt": iso_us(meta.created_at),
        "updatedAt": iso_us(meta.updated_at),
    }
    if meta.contract_id is None:
        del body["contractId"]
    if meta.payment_info is not None:
        body["paymentInfo"] = dict(meta.payment_info)
    return body


def to_wire(amounts: InvoiceAmounts, meta: InvoiceMeta) -> dict[str, Any]:
    """The exact JSON body of GET /invoices/{invoiceId}: `{"invoice": {...}}`."""
    return {"invoice": invoice_wire(amounts, meta)}
