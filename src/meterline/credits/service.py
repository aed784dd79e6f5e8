"""The credit ledger: append-only Grant / Deduct entries; the balance never goes negative.

Amounts on entries are positive; `type` gives the direction. `balanceAfterEntry` is the
running sum (grants minus deducts) just after the entry. Concurrency: every grant and
deduct of a customer first locks that customer's balance row (created on first use), so
two concurrent deducts are serialized and the second sees the first one's result.
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.credits import repository as repo
from meterline.customers import repository as customers_repo
from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import iso_us, now_us


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "createdAt": iso_us(row["created_at"]),
        "type": row["type"],
        "amount": row["amount"],
        "balanceAfterEntry": row["balance_after"],
        "integrationEntities": [],
    }
    for key, col in (("invoiceId", "invoice_id"), ("contractId", "contract_id"), ("reason", "reason")):
        if row.get(col) is not None:
            out[key] = row[col]
    return out


def _check_customer(conn: sa.Connection, account_id: str, customer_id: str) -> None:
    if customers_repo.get(conn, account_id, customer_id) is None:
        raise NotFound(f"Customer {customer_id} not found.", param="customerId")


def _append(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    kind: str,
    amount: Decimal,
    invoice_id: str | None,
    contract_id: str | None,
    reason: str | None,
) -> dict[str, Any]:
    if not amount.is_finite() or amount <= 0:
        raise BadRequest("creditAmount must be greater than 0.", param="creditAmount")
    now = now_us()
    current = repo.lock_balance(conn, account_id, customer_id, now)
    after = current + amount if kind == "Grant" else current - amount
    if after < 0:
        raise BadRequest(
            f"Cannot deduct {amount}: the customer's credit balance is {current}.",
            param="creditAmount",
            code="validation_failed",
        )
    entry_id = new_id()
    repo.insert_entry(
        conn,
        values={
            "id": entry_id,
            "account_id": account_id,
            "customer_id": customer_id,
            "type": kind,
            "amount": amount,
            "balance_after": after,
            "invoice_id": invoice_id,
            "contract_id": contract_id,
            "reason": reason,
            "created_at": now,
        },
    )
    repo.set_balance(conn, account_id, customer_id, after, now)
    row = repo.get_entry(conn, account_id, entry_id)
    assert row is not None
    return to_wire(row)


def grant(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    amount: Decimal,
    contract_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Append a Grant entry; answers the entry (wire shape)."""
    _check_customer(conn, account_id, customer_id)
    return _append(
        conn,
        account_id=account_id,
        customer_id=customer_id,
        kind="Grant",
        amount=amount,
        invoice_id=None,
        contract_id=contract_id,
        reason=reason,
    )


def deduct(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    amount: Decimal,
    invoice_id: str | None = None,
    contract_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Append a Deduct entry; BadRequest (400) when amount exceeds the balance. Answers the entry."""
    _check_customer(conn, account_id, customer_id)
    return _append(
        conn,
        account_id=account_id,
        customer_id=customer_id,
        kind="Deduct",
        amount=amount,
        invoice_id=invoice_id,
        contract_id=contract_id,
        reason=reason,
    )


def balance(conn: sa.Connection, *, account_id: str, customer_id: str) -> Decimal:
    """The customer's credit balance (0 without entries), never negative."""
    return repo.balance(conn, account_id, customer_id)


def list_page(conn: sa.Connection, *, account_id: str, customer_id: str, page: PageRequest) -> Page:
    _check_customer(conn, account_id, customer_id)
    rows = repo.page(conn, account_id, customer_id, after_seq=page.after_seq, limit=page.limit)
    return make_page(
        [(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id, customer_id)
    )
