"""All SQL of measurements. Every query filters on account_id."""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.catalog import measurements

_T = measurements


def find(conn: sa.Connection, account_id: str, customer_id: str, meter_id: str, day_us: int) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(_T).where(
            _T.c.account_id == account_id,
            _T.c.customer_id == customer_id,
            _T.c.meter_id == meter_id,
            _T.c.day_us == day_us,
        )
    ).first()
    return dict(row._mapping) if row else None


def upsert(conn: sa.Connection, *, values: dict[str, Any]) -> None:
    """Insert, or (same customer, meter and day) replace the value: safe under concurrent posts."""
    insert = postgresql.insert(_T) if conn.dialect.name == "postgresql" else sqlite.insert(_T)
    stmt = insert.values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "customer_id", "meter_id", "day_us"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


def get(conn: sa.Connection, account_id: str, measurement_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(_T).where(_T.c.account_id == account_id, _T.c.id == measurement_id)).first()
    return dict(row._mapping) if row else None


def _filter(account_id: str, customer_id: str | None, meter_id: str | None) -> list[sa.ColumnElement[bool]]:
    out = [_T.c.account_id == account_id]
    if customer_id is not None:
        out.append(_T.c.customer_id == customer_id)
    if meter_id is not None:
        out.append(_T.c.meter_id == meter_id)
    return out


def page(
    conn: sa.Connection,
    account_id: str,
    *,
    customer_id: str | None,
    meter_id: str | None,
    after_seq: int,
    limit: int,
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_T)
        .where(*_filter(account_id, customer_id, meter_id), _T.c.seq > after_seq)
        .order_by(_T.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str, *, customer_id: str | None, meter_id: str | None) -> int:
    query = sa.select(sa.func.count()).select_from(_T).where(*_filter(account_id, customer_id, meter_id))
    return int(conn.execute(query).scalar_one())


def delete(conn: sa.Connection, account_id: str, measurement_id: str) -> None:
    conn.execute(sa.delete(_T).where(_T.c.account_id == account_id, _T.c.id == measurement_id))


def values_between(
    conn: sa.Connection, account_id: str, customer_id: str, meter_id: str, start_us: int, end_us: int
) -> list[Decimal]:
    rows = conn.execute(
        sa.select(_T.c.value).where(
            _T.c.account_id == account_id,
            _T.c.customer_id == customer_id,
            _T.c.meter_id == meter_id,
            _T.c.day_us >= start_us,
            _T.c.day_us < end_us,
        )
    )
    return [Decimal(r.value) for r in rows]
