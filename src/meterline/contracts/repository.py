"""All SQL of contracts. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.raw import fetch, json_doc
from meterline.db.tables.catalog import contracts

_T = contracts
_LIVE = _T.c.deleted_at.is_(None)


def insert(conn: sa.Connection, *, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(_T).values(**values))


def get(conn: sa.Connection, account_id: str, contract_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
    query = sa.select(_T).where(_T.c.account_id == account_id, _T.c.id == contract_id)
    row = conn.execute(query if deleted else query.where(_LIVE)).first()
    return dict(row._mapping) if row else None


def _filter(account_id: str, customer_id: str | None) -> list[sa.ColumnElement[bool]]:
    out = [_T.c.account_id == account_id, _LIVE]
    if customer_id is not None:
        out.append(_T.c.customer_id == customer_id)
    return out


def page(
    conn: sa.Connection, account_id: str, *, customer_id: str | None, after_seq: int, limit: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_T).where(*_filter(account_id, customer_id), _T.c.seq > after_seq).order_by(_T.c.seq).limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str, *, customer_id: str | None) -> int:
    query = sa.select(sa.func.count()).select_from(_T).where(*_filter(account_id, customer_id))
    return int(conn.execute(query).scalar_one())


def get_by_salesforce_id(conn: sa.Connection, account_id: str, opportunity_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(_T)
        .where(_T.c.account_id == account_id, _T.c.salesforce_opportunity_id == opportunity_id, _LIVE)
        .order_by(_T.c.seq)
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


_STARTED = (
    "SELECT id, seq, customer_id, status, start_us, end_us, terminated_at, created_at, doc FROM contracts "
    "WHERE account_id = ? AND deleted_at IS NULL AND start_us <= ?"
)
_STARTED_KEYS = ("id", "seq", "customer_id", "status", "start_us", "end_us", "terminated_at", "created_at")


def started_by(
    conn: sa.Connection, account_id: str, *, at_us: int, customer_id: str | None = None
) -> list[dict[str, Any]]:
    """Live contracts (of one customer, or all) that started at or before at_us, in creation
    order: id, seq, customer_id, status, start_us, end_us, terminated_at, created_at and doc (parsed
    once per distinct text and shared: read-only). Hot path: prebuilt SQL."""
    if customer_id is None:
        rows = fetch(conn, _STARTED + " ORDER BY seq", (account_id, at_us))
    else:
        rows = fetch(conn, _STARTED + " AND customer_id = ? ORDER BY seq", (account_id, at_us, customer_id))
    out = []
    for r in rows:
        row = dict(zip(_STARTED_KEYS, r[:8], strict=True))
        row["doc"] = json_doc(r[8])
        out.append(row)
    return out


def set_terminated(conn: sa.Connection, account_id: str, contract_id: str, *, terminated_at: int, now: int) -> None:
    conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.id == contract_id)
        .values(terminated_at=terminated_at, updated_at=now)
    )


def mark_deleted(conn: sa.Connection, account_id: str, contract_id: str, now: int) -> None:
    conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.id == contract_id)
        .values(deleted_at=now, updated_at=now)
    )


def ending_between(conn: sa.Connection, account_id: str, *, after_us: int, until_us: int) -> list[dict[str, Any]]:
    """Live, unterminated contracts whose endDate lies in (after_us, until_us] (UpcomingRenewal)."""
    rows = conn.execute(
        sa.select(_T.c.id, _T.c.customer_id, _T.c.status, _T.c.start_us, _T.c.end_us, _T.c.doc)
        .where(_T.c.account_id == account_id, _LIVE, _T.c.terminated_at.is_(None))
        .where(_T.c.end_us > after_us, _T.c.end_us <= until_us)
        .order_by(_T.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def overlapping(conn: sa.Connection, account_id: str, *, start_us: int, end_us: int) -> list[dict[str, Any]]:
    """Live contracts in force at some instant of [start_us, end_us) (MonthEndReport)."""
    rows = conn.execute(
        sa.select(_T)
        .where(_T.c.account_id == account_id, _LIVE, _T.c.start_us < end_us)
        .where(sa.or_(_T.c.end_us.is_(None), _T.c.end_us > start_us))
        .where(sa.or_(_T.c.terminated_at.is_(None), _T.c.terminated_at > start_us))
        .order_by(_T.c.seq)
    )
    return [dict(r._mapping) for r in rows]
