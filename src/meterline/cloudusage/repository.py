"""All SQL of cloud usage results. Every query filters on account_id."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.cloudusage import cloud_usage_results

_T = cloud_usage_results


def insert_new(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows whose (account, idempotency key) is not stored yet; the others are
    left as first stored (safe under concurrent submissions)."""
    if not rows:
        return
    insert = postgresql.insert(_T) if conn.dialect.name == "postgresql" else sqlite.insert(_T)
    conn.execute(insert.values(list(rows)).on_conflict_do_nothing(index_elements=["account_id", "idempotency_key"]))


def _where(account_id: str, product_code: str | None) -> list[sa.ColumnElement[bool]]:
    where = [_T.c.account_id == account_id]
    if product_code is not None:
        where.append(_T.c.product_code == product_code)
    return where


def page(
    conn: sa.Connection, account_id: str, *, product_code: str | None, after_seq: int, limit: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_T)
        .where(*_where(account_id, product_code), _T.c.seq > after_seq)
        .order_by(_T.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str, *, product_code: str | None) -> int:
    stmt = sa.select(sa.func.count()).select_from(_T).where(*_where(account_id, product_code))
    return int(conn.execute(stmt).scalar_one())
