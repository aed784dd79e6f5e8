"""All SQL of the credit ledger. Every query filters on account_id.

credit_balances holds one row per customer with credits: the row is the lock that
serializes grants and deducts of one customer (SELECT ... FOR UPDATE on PostgreSQL;
on SQLite every writing transaction already holds the database's write lock).
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.catalog import credit_balances, credit_entries

_B = credit_balances
_E = credit_entries


def lock_balance(conn: sa.Connection, account_id: str, customer_id: str, now: int) -> Decimal:
    """The customer's balance, its row created if missing and locked until the transaction ends."""
    values = {"account_id": account_id, "customer_id": customer_id, "balance": Decimal(0), "updated_at": now}
    insert = (postgresql.insert(_B) if conn.dialect.name == "postgresql" else sqlite.insert(_B)).values(**values)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["account_id", "customer_id"]))
    row = conn.execute(
        sa.select(_B.c.balance).where(_B.c.account_id == account_id, _B.c.customer_id == customer_id).with_for_update()
    ).one()
    return Decimal(row.balance)


def balance(conn: sa.Connection, account_id: str, customer_id: str) -> Decimal:
    value = conn.execute(
        sa.select(_B.c.balance).where(_B.c.account_id == account_id, _B.c.customer_id == customer_id)
    ).scalar_one_or_none()
    return Decimal(0) if value is None else Decimal(value)


def set_balance(conn: sa.Connection, account_id: str, customer_id: str, value: Decimal, now: int) -> None:
    conn.execute(
        sa.update(_B)
        .where(_B.c.account_id == account_id, _B.c.customer_id == customer_id)
        .values(balance=value, updated_at=now)
    )


def insert_entry(conn: sa.Connection, *, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(_E).values(**values))


def get_entry(conn: sa.Connection, account_id: str, entry_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(_E).where(_E.c.account_id == account_id, _E.c.id == entry_id)).first()
    return dict(row._mapping) if row else None


def page(conn: sa.Connection, account_id: str, customer_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_E)
        .where(_E.c.account_id == account_id, _E.c.customer_id == customer_id, _E.c.seq > after_seq)
        .order_by(_E.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str, customer_id: str) -> int:
    query = (
        sa.select(sa.func.count()).select_from(_E).where(_E.c.account_id == account_id, _E.c.customer_id == customer_id)
    )
    return int(conn.execute(query).scalar_one())
