"""All SQL of catalog products. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.raw import fetch, marks
from meterline.db.tables.catalog import catalog_products

_T = catalog_products
_LIVE = _T.c.deleted_at.is_(None)


def insert(
    conn: sa.Connection,
    *,
    account_id: str,
    product_id: str,
    name: str,
    meter_id: str | None,
    doc: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        sa.insert(_T).values(
            id=product_id, account_id=account_id, name=name, meter_id=meter_id, doc=doc, created_at=now, updated_at=now
        )
    )


def get(conn: sa.Connection, account_id: str, product_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
    query = sa.select(_T).where(_T.c.account_id == account_id, _T.c.id == product_id)
    row = conn.execute(query if deleted else query.where(_LIVE)).first()
    return dict(row._mapping) if row else None


def get_many(conn: sa.Connection, account_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Live products by id."""
    if not product_ids:
        return {}
    rows = conn.execute(sa.select(_T).where(_T.c.account_id == account_id, _T.c.id.in_(set(product_ids)), _LIVE))
    return {r.id: dict(r._mapping) for r in rows}


def names_and_meters(conn: sa.Connection, account_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Live products by id, only id, name and meter_id (hot path: prebuilt SQL)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = fetch(
        conn,
        f"SELECT id, name, meter_id FROM catalog_products WHERE account_id = ? AND deleted_at IS NULL "
        f"AND id IN ({marks(len(ids))})",
        (account_id, *ids),
    )
    return {r[0]: {"id": r[0], "name": r[1], "meter_id": r[2]} for r in rows}


def page(conn: sa.Connection, account_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_T)
        .where(_T.c.account_id == account_id, _LIVE, _T.c.seq > after_seq)
        .order_by(_T.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(_T).where(_T.c.account_id == account_id, _LIVE)
    return int(conn.execute(query).scalar_one())


def update(
    conn: sa.Connection,
    account_id: str,
    product_id: str,
    *,
    name: str,
    meter_id: str | None,
    doc: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.id == product_id)
        .values(name=name, meter_id=meter_id, doc=doc, updated_at=now)
    )


def mark_deleted(conn: sa.Connection, account_id: str, product_id: str, now: int) -> None:
    conn.execute(
        sa.update(_T).where(_T.c.account_id == account_id, _T.c.id == product_id).values(deleted_at=now, updated_at=now)
    )
