"""All SQL of meters. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.raw import fetch, marks
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
            rollup_id=meter_id,
            created_at=now,
            updated_at=now,
        )
    )


def get(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(meters).where(meters.c.account_id == account_id, meters.c.id == meter_id, _LIVE)
    ).first()
    return dict(row._mapping) if row else None


def get_any(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any] | None:
    """Also a deleted meter (for the delete answer)."""
    row = conn.execute(sa.select(meters).where(meters.c.account_id == account_id, meters.c.id == meter_id)).first()
    return dict(row._mapping) if row else None


def get_many(conn: sa.Connection, account_id: str, meter_ids: list[str]) -> list[dict[str, Any]]:
    """Live meters among meter_ids (used by consumption and invoices)."""
    if not meter_ids:
        return []
    rows = conn.execute(sa.select(meters).where(meters.c.account_id == account_id, meters.c.id.in_(meter_ids), _LIVE))
    return [dict(r._mapping) for r in rows]


def live_for_event_names(conn: sa.Connection, account_id: str, names: list[str]) -> list[dict[str, Any]]:
    if not names:
        return []
    rows = conn.execute(
        sa.select(meters)
        .where(meters.c.account_id == account_id, meters.c.event_name.in_(names), _LIVE)
        .order_by(meters.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def all_live(conn: sa.Connection, account_id: str | None = None) -> list[dict[str, Any]]:
    """Every live meter (of one account, or of all accounts: for the backfill command)."""
    stmt = sa.select(meters).where(_LIVE).order_by(meters.c.seq)
    if account_id is not None:
        stmt = stmt.where(meters.c.account_id == account_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def page(conn: sa.Connection, account_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(meters)
        .where(meters.c.account_id == account_id, _LIVE, meters.c.seq > after_seq)
        .order_by(meters.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str) -> int:
    stmt = sa.select(sa.func.count()).select_from(meters).where(meters.c.account_id == account_id, _LIVE)
    return int(conn.execute(stmt).scalar_one())


def update(
    conn: sa.Connection,
    account_id: str,
    meter_id: str,
    *,
    name: str,
    event_name: str,
    doc: dict[str, Any],
    bump_version: bool,
    now: int,
) -> None:
    values: dict[str, Any] = {"name": name, "event_name": event_name, "doc": doc, "updated_at": now}
    if bump_version:
        values["version"] = meters.c.version + 1
    conn.execute(sa.update(meters).where(meters.c.account_id == account_id, meters.c.id == meter_id).values(**values))


def mark_deleted(conn: sa.Connection, account_id: str, meter_id: str, now: int) -> None:
    conn.execute(
        sa.update(meters)
        .where(meters.c.account_id == account_id, meters.c.id == meter_id)
        .values(deleted_at=now, updated_at=now)
    )


def _key_row(r: Any) -> dict[str, Any]:
    return {
        "id": r[0],
        "version": r[1],
        "updated_at": r[2],
        "event_name": r[3],
        "doc_text": r[4],
        "rollup_id": r[5],
        "build_id": r[6],
    }


def live_keys(conn: sa.Connection, account_id: str, meter_ids: list[str]) -> list[dict[str, Any]]:
    """id, version, updated_at, event_name, the unparsed doc (`doc_text`), rollup_id and
    build_id of live meters: the hot path of usage(), which compiles a meter once per version."""
    if not meter_ids:
        return []
    sql = (
        "SELECT id, version, updated_at, event_name, doc, rollup_id, build_id FROM meters WHERE account_id = ? "
        f"AND id IN ({marks(len(meter_ids))}) AND deleted_at IS NULL"
    )
    rows = fetch(conn, sql, (account_id, *meter_ids))
    return [_key_row(r) for r in rows]


def live_keys_for_event_names(conn: sa.Connection, account_id: str, names: list[str]) -> list[dict[str, Any]]:
    """As live_keys, for the live meters of these event names (the ingestion hot path)."""
    if not names:
        return []
    sql = (
        "SELECT id, version, updated_at, event_name, doc, rollup_id, build_id FROM meters WHERE account_id = ? "
        f"AND event_name IN ({marks(len(names))}) AND deleted_at IS NULL ORDER BY seq"
    )
    rows = fetch(conn, sql, (account_id, *names))
    return [_key_row(r) for r in rows]
