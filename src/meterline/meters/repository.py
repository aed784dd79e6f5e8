"""All SQL of meters. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.raw import fetch, marks
from meterline.db.tables.metering import meter_rebuilds, meter_rollup_drops, meters

_LIVE = meters.c.deleted_at.is_(None)


def insert(
    conn: sa.Connection,
    *,
    account_id: str,
    meter_id: str,
    name: str,
    event_name: str,
    doc: dict[str, Any],
    now: int,
    rollup_id: str | None = None,
) -> None:
    conn.execute(
        sa.insert(meters).values(
            id=meter_id,
            account_id=account_id,
            name=name,
            event_name=event_name,
            doc=doc,
            rollup_id=rollup_id,
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


# -- rebuild jobs (meters/rebuilds.py) -------------------------------------------------

_R = meter_rebuilds.c
ACTIVE = ("pending", "running")


def set_rollups(conn: sa.Connection, account_id: str, meter_id: str, **values: str | None) -> None:
    """Set rollup_id and/or build_id of a meter."""
    conn.execute(sa.update(meters).where(meters.c.account_id == account_id, meters.c.id == meter_id).values(**values))


def insert_rebuild(
    conn: sa.Connection, *, job_id: str, account_id: str, meter_id: str, rollup_id: str, now: int, done: bool = False
) -> None:
    """A pending job, or (done) the record of a rebuild with nothing to fold."""
    conn.execute(
        sa.insert(meter_rebuilds).values(
            id=job_id,
            account_id=account_id,
            meter_id=meter_id,
            rollup_id=rollup_id,
            status="done" if done else "pending",
            events_total=0 if done else None,
            created_at=now,
            updated_at=now,
            finished_at=now if done else None,
        )
    )


def active_rebuilds(conn: sa.Connection, account_id: str, meter_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(meter_rebuilds).where(_R.account_id == account_id, _R.meter_id == meter_id, _R.status.in_(ACTIVE))
    )
    return [dict(r._mapping) for r in rows]


def update_rebuild(conn: sa.Connection, job_id: str, *, token: str | None = None, **values: Any) -> bool:
    """Update a job (when `token` is given: only while that lease holds it); True if it did."""
    stmt = sa.update(meter_rebuilds).where(_R.id == job_id)
    if token is not None:
        stmt = stmt.where(_R.lease_token == token, _R.status.in_(ACTIVE))
    return conn.execute(stmt.values(**values)).rowcount == 1


def get_rebuild(conn: sa.Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(meter_rebuilds).where(_R.id == job_id)).first()
    return dict(row._mapping) if row else None


def claim_rebuild(
    conn: sa.Connection, *, token: str, now: int, lease_until: int, account_id: str | None, meter_id: str | None
) -> str | None:
    """Lease the oldest active job nobody holds (or whose holder's lease expired)."""
    free = sa.or_(_R.lease_until.is_(None), _R.lease_until < now)
    stmt = sa.select(_R.id).where(_R.status.in_(ACTIVE), free).order_by(_R.created_at, _R.id).limit(5)
    if account_id is not None:
        stmt = stmt.where(_R.account_id == account_id)
    if meter_id is not None:
        stmt = stmt.where(_R.meter_id == meter_id)
    for (job_id,) in conn.execute(stmt).all():
        taken = conn.execute(
            sa.update(meter_rebuilds)
            .where(_R.id == job_id, _R.status.in_(ACTIVE), free)
            .values(lease_token=token, lease_until=lease_until)
        )
        if taken.rowcount == 1:
            return str(job_id)
    return None


def count_active_rebuilds(conn: sa.Connection, account_id: str | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(meter_rebuilds).where(_R.status.in_(ACTIVE))
    if account_id is not None:
        stmt = stmt.where(_R.account_id == account_id)
    return int(conn.execute(stmt).scalar_one())


def latest_rebuilds(conn: sa.Connection, account_id: str, meter_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest job of each of these meters (what the meter shows as `rebuild`)."""
    if not meter_ids:
        return {}
    rows = conn.execute(
        sa.select(meter_rebuilds)
        .where(_R.account_id == account_id, _R.meter_id.in_(meter_ids), _R.status != "cancelled")
        .order_by(_R.created_at, _R.id)
    )
    return {r.meter_id: dict(r._mapping) for r in rows}


def add_drop(conn: sa.Connection, account_id: str, rollup_id: str, now: int) -> None:
    """Queue a rollup id's rows for deletion in the background (idempotent)."""
    exists = conn.execute(
        sa.select(sa.literal(1)).where(
            meter_rollup_drops.c.account_id == account_id, meter_rollup_drops.c.rollup_id == rollup_id
        )
    ).first()
    if exists is None:
        conn.execute(sa.insert(meter_rollup_drops).values(account_id=account_id, rollup_id=rollup_id, created_at=now))


def drops(conn: sa.Connection, limit: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        sa.select(meter_rollup_drops.c.account_id, meter_rollup_drops.c.rollup_id)
        .order_by(meter_rollup_drops.c.created_at)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


def remove_drop(conn: sa.Connection, account_id: str, rollup_id: str) -> None:
    conn.execute(
        sa.delete(meter_rollup_drops).where(
            meter_rollup_drops.c.account_id == account_id, meter_rollup_drops.c.rollup_id == rollup_id
        )
    )
