"""Products consumptions: provisioned (contracts) against consumed (events + measurements).

For a customer at instant t: one entry per catalog product with a meter that appears on a
line in force at t; several lines of one product merge (consumption.rules.merge). The
consumed amount is the meter over the customer's events (all its aliases) with timestamp
in [window start, t), plus measurements dated in that range for Count and Sum meters.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.catalog import repository as catalog_repo
from meterline.consumption import rules
from meterline.contracts.service import LineInForce, account_lines_in_force, lines_in_force
from meterline.credits import service as credits
from meterline.customers import repository as customers_repo
from meterline.kit.errors import NotFound
from meterline.measurements import service as measurements
from meterline.meters import repository as meters_repo
from meterline.usage import service as usage

MEASURED_OPERATORS = frozenset({"Count", "Sum"})


@dataclass(frozen=True, slots=True)
class _Product:
    product_id: str
    name: str
    meter_id: str
    lines: list[LineInForce]
    merged: rules.Merged


def _group(
    conn: sa.Connection, account_id: str, lines: Sequence[LineInForce]
) -> tuple[list[_Product], dict[str, dict[str, Any]]]:
    meter_ids = sorted({line.meter_id for line in lines if line.meter_id})
    meters = {row["id"]: row for row in meters_repo.get_many(conn, account_id, meter_ids)} if meter_ids else {}
    by_product: dict[str, list[LineInForce]] = {}
    for line in lines:
        if line.meter_id in meters:
            by_product.setdefault(line.catalog_product_id, []).append(line)
    out = []
    for pid, group in by_product.items():
        shares = [_share(x) for x in group]
        out.append(_Product(pid, group[0].product_name, str(group[0].meter_id), group, rules.merge(shares)))
    return out, meters


def _share(line: LineInForce) -> rules.LineShare:
    return rules.LineShare(
        provisioned=line.provisioned,
        strategy=line.overage_strategy,
        window_start_us=line.window_start_us,
        window_end_us=line.window_end_us,
        contract_start_us=line.contract_start_us,
        seq=line.contract_seq,
    )


def _operator(meter: dict[str, Any]) -> str:
    return str(((meter.get("doc") or {}).get("aggregationMethod") or {}).get("operator") or "")


def _consumed(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    products: list[_Product],
    meters: dict[str, dict[str, Any]],
    at_us: int,
) -> list[Decimal]:
    if not products:
        return []
    aliases = customers_repo.aliases_of(conn, account_id, customer_id)
    requests = [(p.meter_id, p.merged.window_start_us, min(p.merged.window_end_us, at_us)) for p in products]
    values = usage.usage_many(conn, account_id=account_id, aliases=aliases, requests=requests)
    out = []
    for (meter_id, start, end), value in zip(requests, values, strict=True):
        if _operator(meters[meter_id]) in MEASURED_OPERATORS and start < end:
            value += measurements.sum_for(
                conn, account_id=account_id, customer_id=customer_id, meter_id=meter_id, start_us=start, end_us=end
            )
        out.append(value)
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    product_id: str
    product_name: str
    provisioned: Decimal
    consumed: Decimal
    shares: list[rules.LineShare]


def _entries(
    conn: sa.Connection, account_id: str, customer_id: str, lines: Sequence[LineInForce], at_us: int
) -> list[Entry]:
    products, meters = _group(conn, account_id, lines)
    consumed = _consumed(conn, account_id, customer_id, products, meters, at_us)
    return [
        Entry(p.product_id, p.name, p.merged.provisioned, c, [_share(x) for x in p.lines])
        for p, c in zip(products, consumed, strict=True)
    ]


def to_wire(product_id: str, name: str, provisioned: Decimal, consumed: Decimal, access: bool) -> dict[str, Any]:
    return {
        "productId": product_id,
        "productName": name,
        "provisionedAmount": provisioned,
        "consumedAmount": consumed,
        "usagePercentage": rules.usage_percentage(provisioned, consumed),
        "hasAccess": access,
        "remainingAmount": max(provisioned - consumed, Decimal(0)),
        "exceededAmount": max(consumed - provisioned, Decimal(0)),
    }


class _Balance:
    """The customer's credit balance, read once and only when a TOP_UP line needs it."""

    def __init__(self, conn: sa.Connection, account_id: str, customer_id: str) -> None:
        self.conn, self.account_id, self.customer_id = conn, account_id, customer_id
        self.value: Decimal | None = None

    def get(self) -> Decimal:
        if self.value is None:
            self.value = credits.balance(self.conn, account_id=self.account_id, customer_id=self.customer_id)
        return self.value


def _access(entry: Entry, balance: _Balance) -> bool:
    needs_balance = any(s.strategy == "TOP_UP" for s in entry.shares)
    return rules.merged_has_access(
        entry.shares,
        provisioned=entry.provisioned,
        consumed=entry.consumed,
        credit_balance=balance.get() if needs_balance else Decimal(0),
    )


def entries_for(
    conn: sa.Connection, *, account_id: str, customer_id: str, lines: Sequence[LineInForce], at_us: int
) -> list[dict[str, Any]]:
    """The wire entries of these lines of one customer (lines_in_force at at_us, or a part
    of them), one per product with a live meter, merged: what for_customer answers for them."""
    balance = _Balance(conn, account_id, customer_id)
    return [
        to_wire(e.product_id, e.product_name, e.provisioned, e.consumed, _access(e, balance))
        for e in _entries(conn, account_id, customer_id, lines, at_us)
    ]


def for_customer(conn: sa.Connection, *, account_id: str, customer_id: str, at_us: int) -> list[dict[str, Any]]:
    if customers_repo.get(conn, account_id, customer_id) is None:
        raise NotFound(f"Customer {customer_id} not found.")
    lines = lines_in_force(conn, account_id=account_id, customer_id=customer_id, at_us=at_us)
    return entries_for(conn, account_id=account_id, customer_id=customer_id, lines=lines, at_us=at_us)


def for_alias(conn: sa.Connection, *, account_id: str, alias: str, at_us: int) -> list[dict[str, Any]]:
    row = customers_repo.get_by_alias(conn, account_id, alias)
    if row is None:
        raise NotFound(f"No customer holds alias {alias!r}.")
    return for_customer(conn, account_id=account_id, customer_id=row["id"], at_us=at_us)


def for_product(
    conn: sa.Connection,
    *,
    account_id: str,
    product_id: str,
    customer_id: str | None = None,
    alias: str | None = None,
    at_us: int,
) -> dict[str, Any]:
    """One customer's entry for the product (404 when none is in force), or the account-wide total."""
    product = catalog_repo.get(conn, account_id, product_id)
    if product is None:
        raise NotFound(f"Catalog product {product_id} not found.")
    if alias is not None:
        row = customers_repo.get_by_alias(conn, account_id, alias)
        if row is None:
            raise NotFound(f"No customer holds alias {alias!r}.", param="alias")
        customer_id = row["id"]
    if customer_id is not None:
        for entry in for_customer(conn, account_id=account_id, customer_id=customer_id, at_us=at_us):
            if entry["productId"] == product_id:
                return entry
        raise NotFound(f"Customer {customer_id} has no line of product {product_id} in force.")
    lines = account_lines_in_force(conn, account_id=account_id, at_us=at_us, catalog_product_id=product_id)
    by_customer: dict[str, list[LineInForce]] = {}
    for line in lines:
        by_customer.setdefault(line.customer_id, []).append(line)
    provisioned = consumed = Decimal(0)
    access = False
    for cid, group in by_customer.items():
        for e in _entries(conn, account_id, cid, group, at_us):
            provisioned += e.provisioned
            consumed += e.consumed
            access = access or _access(e, _Balance(conn, account_id, cid))
    return to_wire(product["id"], product["name"], provisioned, consumed, access)
