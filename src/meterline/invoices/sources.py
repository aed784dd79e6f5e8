"""What invoices read from other domains (contracts, customers, catalog, usage, credits).

The only module of this package that imports another domain.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.catalog import repository as catalog_repo
from meterline.contracts import provisioning as prov
from meterline.contracts import repository as contracts_repo
from meterline.credits import service as credits_service
from meterline.customers import repository as customers_repo
from meterline.invoices.cycles import Cycle
from meterline.invoices.lines import USAGE_TYPES, contract_lines
from meterline.kit.times import iso_us
from meterline.measurements import service as measurements_service
from meterline.meters import repository as meters_repo
from meterline.usage import service as usage_service
from meterline.webhooks import service as webhooks_service

# Contracts that are never invoiced (not agreed, or void).
NOT_BILLED = frozenset({"InReview", "Inactive", "Error"})
FAR_FUTURE = 2**62


@dataclass(frozen=True, slots=True)
class ContractView:
    """A stored contract as the pure invoice code reads it (dates as microseconds)."""

    id: str
    customer_id: str
    name: str
    doc: Mapping[str, Any]
    created_at: int  # µs: the invoice grace counts from it for cycles that ended before


def _view(row: dict[str, Any]) -> ContractView:
    doc = dict(row["doc"])
    doc["startDate"] = row["start_us"]
    end = prov.effective_end(row["end_us"], row["terminated_at"])
    if end is None:
        doc.pop("endDate", None)
    else:
        doc["endDate"] = end
    return ContractView(row["id"], row["customer_id"], str(doc.get("name") or ""), doc, int(row["created_at"]))


def _billed(row: dict[str, Any]) -> bool:
    return str(row["status"]) not in NOT_BILLED


def contracts(conn: sa.Connection, account_id: str, *, customer_id: str | None = None) -> list[ContractView]:
    """Live, billed contracts (of one customer or all), in creation order."""
    rows = contracts_repo.started_by(conn, account_id, at_us=FAR_FUTURE, customer_id=customer_id)
    return [_view(r) for r in rows if _billed(r)]


def contract(conn: sa.Connection, account_id: str, contract_id: str) -> ContractView | None:
    row = contracts_repo.get(conn, account_id, contract_id)
    return None if row is None or not _billed(row) else _view(row)


def product_names(conn: sa.Connection, account_id: str, product_ids: list[str]) -> dict[str, str]:
    """The current names of these catalog products (deleted ones are left out)."""
    if not product_ids:
        return {}
    return {pid: str(row["name"]) for pid, row in catalog_repo.get_many(conn, account_id, product_ids).items()}


def customer_exists(conn: sa.Connection, account_id: str, customer_id: str) -> bool:
    return customers_repo.get(conn, account_id, customer_id) is not None


def due_days(conn: sa.Connection, account_id: str, customer_id: str) -> str | None:
    row = customers_repo.get_any(conn, account_id, customer_id)
    value = None if row is None else (row["doc"] or {}).get("dueDays")
    return None if value is None else str(value)


def credit_balance(conn: sa.Connection, account_id: str, customer_id: str) -> Decimal:
    """The customer's balance; 0 for a deleted customer (its credits are not used)."""
    if not customer_exists(conn, account_id, customer_id):
        return Decimal(0)
    return credits_service.balance(conn, account_id=account_id, customer_id=customer_id)


def deduct_credits(
    conn: sa.Connection, *, account_id: str, customer_id: str, amount: Decimal, invoice_id: str, contract_id: str
) -> None:
    credits_service.deduct(
        conn,
        account_id=account_id,
        customer_id=customer_id,
        amount=amount,
        invoice_id=invoice_id,
        contract_id=contract_id,
        reason="invoice",
    )


def cycle_usage(conn: sa.Connection, account_id: str, view: ContractView, cycle: Cycle) -> dict[int, Decimal]:
    """Usage u of every usage line in the cycle: its catalog product's meter over the
    customer's events in [start, end), plus measurements (Count and Sum meters)."""
    lines = [x for x in contract_lines(view.doc) if x.type in USAGE_TYPES and x.product.get("catalogProductId")]
    if not lines:
        return {}
    products = catalog_repo.get_many(conn, account_id, sorted({str(x.product["catalogProductId"]) for x in lines}))
    aliases = customers_repo.aliases_of(conn, account_id, view.customer_id)
    meter_ids = sorted({str(p["meter_id"]) for p in products.values() if p.get("meter_id")})
    meters = {m["id"]: m for m in meters_repo.get_many(conn, account_id, meter_ids)}
    out: dict[int, Decimal] = {}
    for line in lines:
        product = products.get(str(line.product["catalogProductId"]))
        meter = None if product is None else meters.get(str(product.get("meter_id")))
        if meter is not None:
            out[line.index] = _meter_usage(conn, account_id, view.customer_id, aliases, meter, cycle.start, cycle.end)
    return out


def _meter_usage(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    aliases: list[str],
    meter: dict[str, Any],
    start_us: int,
    end_us: int,
) -> Decimal:
    """The meter over the customer's events in [start, end), plus measurements (Count, Sum)."""
    value = usage_service.usage(
        conn, account_id=account_id, aliases=aliases, meter_id=meter["id"], start_us=start_us, end_us=end_us
    )
    operator = ((meter.get("doc") or {}).get("aggregationMethod") or {}).get("operator")
    if operator in ("Count", "Sum"):
        value += measurements_service.sum_for(
            conn, account_id=account_id, customer_id=customer_id, meter_id=meter["id"], start_us=start_us, end_us=end_us
        )
    return value


def products_usage(
    conn: sa.Connection, account_id: str, customer_id: str, product_ids: list[str], start_us: int, end_us: int
) -> list[dict[str, Any]]:
    """Usage of each catalog product (with a live meter) by the customer in [start, end), as
    invoices count it: [{"productId", "productName", "consumedAmount"}] in the order given."""
    products = catalog_repo.get_many(conn, account_id, sorted(set(product_ids)))
    aliases = customers_repo.aliases_of(conn, account_id, customer_id)
    meter_ids = sorted({str(p["meter_id"]) for p in products.values() if p.get("meter_id")})
    meters = {m["id"]: m for m in meters_repo.get_many(conn, account_id, meter_ids)}
    out = []
    for pid in dict.fromkeys(product_ids):
        product = products.get(pid)
        meter = None if product is None else meters.get(str(product.get("meter_id")))
        if product is None or meter is None:
            continue
        value = _meter_usage(conn, account_id, customer_id, aliases, meter, start_us, end_us)
        out.append({"productId": pid, "productName": product["name"], "consumedAmount": value})
    return out


def notify_issued(
    conn: sa.Connection,
    *,
    account_id: str,
    invoice_id: str,
    view: ContractView,
    cycle: Cycle,
    total: Decimal,
    due_date_us: int | None,
) -> None:
    """InvoiceApproved to the account's subscribers, in the issuing transaction (outbox)."""
    webhooks_service.enqueue(
        conn,
        account_id=account_id,
        event_type="InvoiceApproved",
        data={
            "invoiceId": invoice_id,
            "customerId": view.customer_id,
            "contractId": view.id,
            "amount": total,
            "billingCycle": {"startTime": iso_us(cycle.start), "endTime": iso_us(cycle.end)},
            "dueDate": iso_us(due_date_us) if due_date_us is not None else None,
        },
        dedupe_key=invoice_id,
    )


def notify_payment_status(conn: sa.Connection, *, account_id: str, data: dict[str, Any], dedupe_key: str) -> None:
    """InvoicePaymentStatusChanged to the account's subscribers, in the caller's transaction."""
    webhooks_service.enqueue(
        conn, account_id=account_id, event_type="InvoicePaymentStatusChanged", data=data, dedupe_key=dedupe_key
    )
