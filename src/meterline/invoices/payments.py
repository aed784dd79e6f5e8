"""Payments recorded against issued invoices (a Meterline extension), and the
InvoicePaymentStatusChanged notices (a payment recorded; an invoice turning Overdue).

Rules (docs/semantics.md "Payments"): a payment has an amount > 0 in cents (at most two
decimal places) and a reference unique per invoice: recording the same reference again
answers the payment already recorded (the same amount and paidAt; a different one is 409).
Only an issued invoice is paid (a draft is 400); a payment beyond `amountDue` is 400.
`amountPaid` is the sum of the payments, `amountDue = total - amountPaid`; when amountDue
reaches 0 the invoice is Paid, its `paidAt` the latest payment instant.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.invoices import repository as repo
from meterline.invoices import service, sources
from meterline.invoices.wire import BillingStatus
from meterline.kit.errors import BadRequest, Conflict, InvalidParameter, NotFound
from meterline.kit.ids import new_id
from meterline.kit.times import iso_us

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Recorded:
    payment: dict[str, Any]  # wire shape
    created: bool  # False: the reference was recorded before (an idempotent replay)


def payment_wire(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "invoiceId": row["invoice_id"],
        "amount": row["amount"],
        "paidAt": iso_us(row["paid_at"]),
        "reference": row["reference"],
        "createdAt": iso_us(row["created_at"]),
    }


def _check_amount(amount: Decimal) -> None:
    if not amount.is_finite() or amount <= 0:
        raise InvalidParameter("amount must be a number > 0", param="amount")
    if amount != amount.quantize(CENT):
        raise InvalidParameter("amount must have at most two decimal places (cents)", param="amount")


def _replay(existing: dict[str, Any], amount: Decimal, paid_at: int | None) -> Recorded:
    if existing["amount"] != amount or (paid_at is not None and existing["paid_at"] != paid_at):
        raise Conflict(
            f"Reference {existing['reference']!r} already records a payment of {existing['amount']} "
            f"at {iso_us(existing['paid_at'])} on this invoice; a reference names one payment.",
            param="reference",
            code="payment_reference_conflict",
        )
    return Recorded(payment_wire(existing), created=False)


def record(
    conn: sa.Connection,
    *,
    account_id: str,
    invoice_id: str,
    amount: Decimal,
    reference: str,
    paid_at: int | None,
    now: int,
    grace_us: int = 0,
) -> Recorded:
    """Record a payment (in the caller's write transaction), or answer the one recorded
    with this reference. paid_at None: now. Queues InvoicePaymentStatusChanged."""
    _check_amount(amount)
    if paid_at is not None and paid_at > now:
        raise InvalidParameter("paidAt must not lie in the future", param="paidAt")
    row = service.row_caught_up(conn, account_id, invoice_id, now, grace_us)
    repo.lock(conn, account_id, invoice_id, now)
    existing = repo.payment_by_reference(conn, account_id, invoice_id, reference)
    if existing is not None:
        return _replay(existing, amount, paid_at)
    if row["issued_at"] is None:
        raise BadRequest(
            "This invoice is a draft (its cycle is open, or within the invoice grace period): "
            "only an issued invoice can be paid.",
            param="invoiceId",
            code="invoice_not_issued",
        )
    total = Decimal(row["total"])
    before = service.payment_figures(conn, account_id, row, total)
    if amount > before["amountDue"]:
        raise InvalidParameter(
            f"amount {amount} exceeds the amount due {before['amountDue']}", param="amount", code="overpayment"
        )
    previous = service.status_of(row, now)
    payment_id = new_id()
    values: dict[str, Any] = {
        "id": payment_id,
        "account_id": account_id,
        "invoice_id": invoice_id,
        "amount": amount,
        "paid_at": now if paid_at is None else paid_at,
        "reference": reference,
        "created_at": now,
    }
    if not repo.insert_payment(conn, values=values):  # the same reference, concurrently
        again = repo.payment_by_reference(conn, account_id, invoice_id, reference)
        assert again is not None
        return _replay(again, amount, paid_at)
    payments = repo.payments(conn, account_id, invoice_id)
    if before["amountDue"] - amount == 0:
        repo.set_paid_at(conn, account_id, invoice_id, max(p["paid_at"] for p in payments))
    after_row = repo.get(conn, account_id, invoice_id)
    assert after_row is not None
    status = service.status_of(after_row, now)
    payment = payment_wire(values)
    data = status_data(conn, account_id, after_row, total, now, previous=previous, status=status)
    sources.notify_payment_status(
        conn, account_id=account_id, data={**data, "trigger": "payment", "payment": payment}, dedupe_key=payment_id
    )
    return Recorded(payment, created=True)


def status_data(
    conn: sa.Connection,
    account_id: str,
    row: dict[str, Any],
    total: Decimal,
    now: int,
    *,
    previous: BillingStatus,
    status: BillingStatus,
) -> dict[str, Any]:
    """The payload of InvoicePaymentStatusChanged (docs/semantics.md)."""
    figures = service.payment_figures(conn, account_id, row, total)
    return {
        "invoiceId": row["id"],
        "customerId": row["customer_id"],
        "contractId": row["contract_id"],
        "previousStatus": previous.value,
        "billingStatus": status.value,
        "total": total,
        "amountPaid": figures["amountPaid"],
        "amountDue": figures["amountDue"],
        "dueDate": None if row["due_date"] is None else iso_us(row["due_date"]),
        "paidAt": figures["paidAt"],
    }


def list_payments(conn: sa.Connection, *, account_id: str, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's payments in recording order (404 when there is no such invoice)."""
    if repo.get(conn, account_id, invoice_id) is None:
        raise NotFound(f"Invoice {invoice_id} not found.", param="invoiceId")
    return [payment_wire(p) for p in repo.payments(conn, account_id, invoice_id)]


def announce_overdue(conn: sa.Connection, *, now: int, limit: int = 500) -> int:
    """One pass of the Overdue scan (all accounts): every issued, unpaid invoice whose due
    date has passed and whose turn was not announced yet gets one InvoicePaymentStatusChanged
    (previousStatus PendingPayment, billingStatus Overdue, trigger "overdue"), and is marked
    so it is never read again. Returns the number of invoices announced."""
    count = 0
    for row in repo.newly_overdue(conn, now=now, limit=limit):
        if not repo.note_overdue(conn, row["account_id"], row["id"], now):
            continue
        total = Decimal(row["total"])
        data = status_data(
            conn,
            row["account_id"],
            row,
            total,
            now,
            previous=BillingStatus.PENDING_PAYMENT,
            status=BillingStatus.OVERDUE,
        )
        sources.notify_payment_status(
            conn,
            account_id=row["account_id"],
            data={**data, "trigger": "overdue", "payment": None},
            dedupe_key=f"{row['id']}:overdue",
        )
        count += 1
    return count
