"""All SQL of custom field definitions. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.tables.core import custom_fields

_LIVE = custom_fields.c.deleted_at.is_(None)


def insert(conn: sa.Connection, *, account_id: str, field_id: str, doc: dict[str, Any], now: int) -> None:
    conn.execute(
        sa.insert(custom_fields).values(id=field_id, account_id=account_id, doc=doc, created_at=now, updated_at=now)
    )


def get(conn: sa.Connection, account_id: str, field_id: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
    query = sa.select(custom_fields).where(custom_fields.c.account_id == account_id, custom_fields.c.id == field_id)
    if not include_deleted:
        query = query.where(_LIVE)
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def page(conn: sa.Connection, account_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(custom_fields)
        .where(custom_fields.c.account_id == account_id, _LIVE, custom_fields.c.seq > after_seq)
        .order_by(custom_fields.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(custom_fields).where(custom_fields.c.account_id == account_id, _LIVE)
    return int(conn.execute(query).scalar_one())


def update(conn: sa.Connection, account_id: str, field_id: str, *, doc: dict[str, Any], now: int) -> None:
    conn.execute(
        sa.update(custom_fields)
        .where(custom_fields.c.account_id == account_id, custom_fields.c.id == field_id)
        .values(doc=doc, updated_at=now)
    )


def mark_deleted(conn: sa.Connection, account_id: str, field_id: str, now: int) -> None:
    conn.execute(
        sa.update(custom_fields)
        .where(custom_fields.c.account_id == account_id, custom_fields.c.id == field_id)
        .values(deleted_at=now, updated_at=now)
    )
