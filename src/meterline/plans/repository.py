"""All SQL of plans. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.tables.catalog import plans

_T = plans
_LIVE = _T.c.deleted_at.is_(None)


def insert(conn: sa.Connection, *, account_id: str, plan_id: str, name: str, doc: dict[str, Any], now: int) -> None:
    conn.execute(
        sa.insert(_T).values(id=plan_id, account_id=account_id, name=name, doc=doc, created_at=now, updated_at=now)
    )


def get(conn: sa.Connection, account_id: str, plan_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
    query = sa.select(_T).where(_T.c.account_id == account_id, _T.c.id == plan_id)
    row = conn.execute(query if deleted else query.where(_LIVE)).first()
    return dict(row._mapping) if row else None


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


def mark_deleted(conn: sa.Connection, account_id: str, plan_id: str, now: int) -> None:
    conn.execute(
        sa.update(_T).where(_T.c.account_id == account_id, _T.c.id == plan_id).values(deleted_at=now, updated_at=now)
    )
