"""All SQL of idempotency keys. Every statement is scoped by account."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.idempotency import idempotency_keys as _T


def insert_claim(conn: sa.Connection, *, account_id: str, key: str, request_hash: str, now: int) -> bool:
    """Insert the key without an answer; False if it exists. On PostgreSQL a concurrent
    transaction's uncommitted insert of the same key makes this wait for that transaction."""
    values = {"account_id": account_id, "key": key, "request_hash": request_hash, "created_at": now}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt: Any = dialect.insert(_T).values(**values).on_conflict_do_nothing(index_elements=["account_id", "key"])
    # RETURNING, not rowcount: the drivers' rowcount for an INSERT is not reliable (-1).
    return conn.execute(stmt.returning(_T.c.key)).first() is not None


def get(conn: sa.Connection, *, account_id: str, key: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(_T).where(_T.c.account_id == account_id, _T.c.key == key)).first()
    return dict(row._mapping) if row else None


def reclaim_expired(
    conn: sa.Connection, *, account_id: str, key: str, request_hash: str, now: int, cutoff: int
) -> bool:
    """Take over a key whose answer is older than `cutoff`; False if it is not (any more)."""
    result = conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.key == key, _T.c.created_at < cutoff)
        .values(request_hash=request_hash, status_code=None, response_body=None, created_at=now)
        .returning(_T.c.key)
    )
    return result.first() is not None


def set_answer(conn: sa.Connection, *, account_id: str, key: str, status: int, body: bytes) -> None:
    conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.key == key)
        .values(status_code=status, response_body=body)
    )


def delete(conn: sa.Connection, *, account_id: str, key: str) -> None:
    conn.execute(sa.delete(_T).where(_T.c.account_id == account_id, _T.c.key == key))


def purge_expired(conn: sa.Connection, *, account_id: str, cutoff: int) -> int:
    result = conn.execute(sa.delete(_T).where(_T.c.account_id == account_id, _T.c.created_at < cutoff))
    return int(result.rowcount)
