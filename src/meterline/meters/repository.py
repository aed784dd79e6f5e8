"""All SQL of meters. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.tables.metering import meters

_LIVE = meters.c.deleted_at.is_(None)


def insert(
    conn: sa.Connection, *, account_id: str, meter_id: str, name: str, event_name: str, doc: dict[str, Any], now: int
) -> None:
    conn.execute(
        sa.insert(meters).values(
            id=meter_id,
            account_id=account_id,
            name=name,
            event_name=event_name,
            doc=doc,
            created_at=now,
            updated_at=now,
        )
    )


def get(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(meters).where(meters.c.account_id == account_id, meters.c.id == meter_id, _LIVE)
    ).first()
    return dict(row._mapping) if row else None
