"""All SQL of accounts, keys and server settings."""

from typing import Any

import sqlalchemy as sa

from meterline.db.tables.core import accounts, api_keys, server_settings


def insert_account(conn: sa.Connection, *, account_id: str, name: str, now: int) -> None:
    conn.execute(sa.insert(accounts).values(id=account_id, name=name, created_at=now))


def account_exists(conn: sa.Connection, account_id: str) -> bool:
    return conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first() is not None


def count_accounts(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(accounts)).scalar_one())


def list_accounts(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.name, accounts.c.created_at).order_by(accounts.c.seq))
    return [dict(r._mapping) for r in rows]


def insert_key(conn: sa.Connection, *, key_id: str, account_id: str, prefix: str, key_hash: str, now: int) -> None:
    conn.execute(
        sa.insert(api_keys).values(id=key_id, account_id=account_id, prefix=prefix, key_hash=key_hash, created_at=now)
    )


def get_key(conn: sa.Connection, key_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    return dict(row._mapping) if row else None


def get_key_status(conn: sa.Connection, key_id: str) -> dict[str, Any] | None:
    """{account_id, revoked_at, account_exists} of a key, None when there is no such key."""
    row = conn.execute(
        sa.select(
            api_keys.c.account_id,
            api_keys.c.revoked_at,
            accounts.c.id.is_not(None).label("account_exists"),
        )
        .select_from(api_keys.outerjoin(accounts, accounts.c.id == api_keys.c.account_id))
        .where(api_keys.c.id == key_id)
    ).first()
    return dict(row._mapping) if row else None


def list_keys(conn: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(api_keys.c.id, api_keys.c.prefix, api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def revoke_key(conn: sa.Connection, key_id: str, now: int) -> bool:
    result = conn.execute(
        sa.update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount > 0


def get_setting(conn: sa.Connection, key: str) -> str | None:
    value = conn.execute(sa.select(server_settings.c.value).where(server_settings.c.key == key)).scalar()
    return None if value is None else str(value)


def put_setting_if_absent(conn: sa.Connection, key: str, value: str) -> None:
    if get_setting(conn, key) is None:
        conn.execute(sa.insert(server_settings).values(key=key, value=value))
