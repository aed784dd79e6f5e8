"""The reads of products consumption that belong to no other domain's use case, as
prebuilt SQL (the endpoint's budget is about a millisecond; see docs/operations.md).
Every query filters on account_id."""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa

from meterline.db.raw import fetch, marks

_ALIASES = (
    "SELECT c.id, a.alias FROM customers c LEFT JOIN customer_aliases a "
    "ON a.account_id = c.account_id AND a.customer_id = c.id "
    "WHERE c.account_id = ? AND c.id = ? AND c.deleted_at IS NULL"
)


def customer_aliases(conn: sa.Connection, account_id: str, customer_id: str) -> list[str] | None:
    """The aliases of a live customer ([] if it has none); None when there is no such customer."""
    rows = fetch(conn, _ALIASES, (account_id, customer_id))
    if not rows:
        return None
    return [r[1] for r in rows if r[1] is not None]


_BY_ALIAS = (
    "SELECT c.id FROM customer_aliases a JOIN customers c ON c.account_id = a.account_id AND c.id = a.customer_id "
    "WHERE a.account_id = ? AND a.alias = ? AND c.deleted_at IS NULL"
)


def customer_of_alias(conn: sa.Connection, account_id: str, alias: str) -> str | None:
    """The id of the live customer holding this alias; None when none does."""
    rows = fetch(conn, _BY_ALIAS, (account_id, alias))
    return str(rows[0][0]) if rows else None


def measurements(
    conn: sa.Connection, account_id: str, customer_id: str, meter_ids: Sequence[str], start_us: int, end_us: int
) -> list[tuple[str, int, Decimal]]:
    """(meter_id, day_us, value) of the customer's measurements of these meters dated in [start_us, end_us)."""
    ids = sorted(set(meter_ids))
    if not ids or start_us >= end_us:
        return []
    rows = fetch(
        conn,
        f"SELECT meter_id, day_us, value FROM measurements WHERE account_id = ? AND customer_id = ? "
        f"AND meter_id IN ({marks(len(ids))}) AND day_us >= ? AND day_us < ?",
        (account_id, customer_id, *ids, start_us, end_us),
    )
    return [(r[0], r[1], Decimal(r[2])) for r in rows]


_BALANCE = "SELECT balance FROM credit_balances WHERE account_id = ? AND customer_id = ?"


def balance(conn: sa.Connection, account_id: str, customer_id: str) -> Decimal:
    """The customer's credit balance (0 without a ledger)."""
    rows = fetch(conn, _BALANCE, (account_id, customer_id))
    return Decimal(rows[0][0]) if rows else Decimal(0)
