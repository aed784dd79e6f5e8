"""All SQL of webhooks. Every query of an account's data filters on account_id; the worker's
queries span accounts by design (it delivers for every tenant)."""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.webhooks import (
    notification_runs as runs,
)
from meterline.db.tables.webhooks import (
    webhook_deliveries as deliveries,
)
from meterline.db.tables.webhooks import (
    webhook_keys as keys,
)
from meterline.db.tables.webhooks import (
    webhook_notifications as notifications,
)
from meterline.db.tables.webhooks import (
    webhook_subscriptions as subs,
)

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
_LIVE = subs.c.deleted_at.is_(None)


def _insert_ignore(conn: sa.Connection, table: sa.Table, values: dict[str, Any], cols: list[str]) -> Any:
    """INSERT ... ON CONFLICT (cols) DO NOTHING: a duplicate never aborts the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=cols)
    return sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=cols)


# ---- subscriptions ---------------------------------------------------------------------


def insert_subscription(
    conn: sa.Connection,
    *,
    account_id: str,
    subscription_id: str,
    event_type: str,
    callback_url: str,
    threshold: Decimal | None,
    now: int,
) -> None:
    conn.execute(
        sa.insert(subs).values(
            id=subscription_id,
            account_id=account_id,
            event_type=event_type,
            callback_url=callback_url,
            threshold=threshold,
            created_at=now,
            updated_at=now,
        )
    )


def find_live(conn: sa.Connection, account_id: str, event_type: str, callback_url: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(subs).where(
            subs.c.account_id == account_id, subs.c.event_type == event_type, subs.c.callback_url == callback_url, _LIVE
        )
    ).first()
    return dict(row._mapping) if row else None


def set_threshold(
    conn: sa.Connection, account_id: str, subscription_id: str, threshold: Decimal | None, now: int
) -> None:
    conn.execute(
        sa.update(subs)
        .where(subs.c.account_id == account_id, subs.c.id == subscription_id)
        .values(threshold=threshold, updated_at=now)
    )


def get_subscription(
    conn: sa.Connection, account_id: str, subscription_id: str, *, deleted_too: bool = False
) -> dict[str, Any] | None:
    query = sa.select(subs).where(subs.c.account_id == account_id, subs.c.id == subscription_id)
    if not deleted_too:
        query = query.where(_LIVE)
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def live_subscriptions(conn: sa.Connection, account_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(subs)
        .where(subs.c.account_id == account_id, subs.c.event_type == event_type, _LIVE)
        .order_by(subs.c.seq)
    )
    return [dict(r._mapping) for r in rows]


_HAS_LIVE = (
    sa.select(subs.c.id)
    .where(subs.c.account_id == sa.bindparam("account_id"), subs.c.event_type == sa.bindparam("event_type"), _LIVE)
    .limit(1)
)


def has_live_subscription(conn: sa.Connection, account_id: str, event_type: str) -> bool:
    """One indexed probe (ix_webhook_subscriptions_account_event); the statement is built
    once, so a call costs one cached execution (it sits on the ingestion path)."""
    row = conn.execute(_HAS_LIVE, {"account_id": account_id, "event_type": event_type}).first()
    return row is not None


def accounts_subscribed(conn: sa.Connection, event_types: list[str]) -> list[str]:
    """The accounts with a live subscription to any of these types (spans accounts: background jobs)."""
    query = sa.select(subs.c.account_id).where(subs.c.event_type.in_(event_types), _LIVE).distinct()
    return sorted(str(r.account_id) for r in conn.execute(query))


def page_subscriptions(
    conn: sa.Connection, account_id: str, *, event_type: str | None, after_seq: int, limit: int
) -> list[dict[str, Any]]:
    query = sa.select(subs).where(subs.c.account_id == account_id, _LIVE, subs.c.seq > after_seq)
    if event_type is not None:
        query = query.where(subs.c.event_type == event_type)
    return [dict(r._mapping) for r in conn.execute(query.order_by(subs.c.seq).limit(limit + 1))]


def count_subscriptions(conn: sa.Connection, account_id: str, *, event_type: str | None) -> int:
    query = sa.select(sa.func.count()).select_from(subs).where(subs.c.account_id == account_id, _LIVE)
    if event_type is not None:
        query = query.where(subs.c.event_type == event_type)
    return int(conn.execute(query).scalar_one())


def mark_subscription_deleted(conn: sa.Connection, account_id: str, subscription_id: str, now: int) -> None:
    conn.execute(
        sa.update(subs)
        .where(subs.c.account_id == account_id, subs.c.id == subscription_id)
        .values(deleted_at=now, updated_at=now)
    )
    conn.execute(
        sa.update(deliveries)
        .where(
            deliveries.c.account_id == account_id,
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.status == PENDING,
        )
        .values(status=CANCELLED, finished_at=now, updated_at=now, lease_token=None, lease_expires_at=None)
    )


# ---- keys --------------------------------------------------------------------------------


def get_public_pem(conn: sa.Connection, account_id: str) -> str | None:
    value = conn.execute(sa.select(keys.c.public_pem).where(keys.c.account_id == account_id)).scalar()
    return None if value is None else str(value)


def get_private_pem(conn: sa.Connection, account_id: str) -> str | None:
    value = conn.execute(sa.select(keys.c.private_pem).where(keys.c.account_id == account_id)).scalar()
    return None if value is None else str(value)


def insert_key_if_absent(conn: sa.Connection, *, account_id: str, public_pem: str, private_pem: str, now: int) -> None:
    values = {"account_id": account_id, "public_pem": public_pem, "private_pem": private_pem, "created_at": now}
    conn.execute(_insert_ignore(conn, keys, values, ["account_id"]))


# ---- outbox ------------------------------------------------------------------------------


def insert_notification(
    conn: sa.Connection,
    *,
    notification_id: str,
    account_id: str,
    event_type: str,
    scope: str,
    dedupe_key: str | None,
    body: str,
    now: int,
) -> bool:
    """False when (account, event type, scope, dedupe_key) already exists: nothing written."""
    values = {
        "id": notification_id,
        "account_id": account_id,
        "event_type": event_type,
        "scope": scope,
        "dedupe_key": dedupe_key,
        "body": body,
        "created_at": now,
    }
    stmt = _insert_ignore(conn, notifications, values, ["account_id", "event_type", "scope", "dedupe_key"])
    return conn.execute(stmt.returning(notifications.c.id)).first() is not None


def existing_dedupe_keys(
    conn: sa.Connection, account_id: str, event_type: str, scope: str, dedupe_keys: list[str]
) -> set[str]:
    """Which of these dedupe keys were already queued (uq_webhook_notifications_dedupe)."""
    if not dedupe_keys:
        return set()
    rows = conn.execute(
        sa.select(notifications.c.dedupe_key).where(
            notifications.c.account_id == account_id,
            notifications.c.event_type == event_type,
            notifications.c.scope == scope,
            notifications.c.dedupe_key.in_(dedupe_keys),
        )
    )
    return {str(r.dedupe_key) for r in rows}


def insert_deliveries(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(deliveries), rows)


def delivery_rows(conn: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    """Every delivery of an account with its notification's body, oldest first (tests, tools)."""
    rows = conn.execute(
        sa.select(deliveries, notifications.c.body, notifications.c.event_type)
        .join(notifications, notifications.c.id == deliveries.c.notification_id)
        .where(deliveries.c.account_id == account_id)
        .order_by(deliveries.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def _of_subscription(account_id: str, subscription_id: str, status: str | None) -> list[sa.ColumnElement[bool]]:
    where = [deliveries.c.account_id == account_id, deliveries.c.subscription_id == subscription_id]
    if status is not None:
        where.append(deliveries.c.status == status)
    return where


def page_deliveries(
    conn: sa.Connection, account_id: str, subscription_id: str, *, after_seq: int, limit: int, status: str | None = None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(deliveries, notifications.c.event_type)
        .join(notifications, notifications.c.id == deliveries.c.notification_id)
        .where(*_of_subscription(account_id, subscription_id, status), deliveries.c.seq > after_seq)
        .order_by(deliveries.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def get_delivery(conn: sa.Connection, account_id: str, subscription_id: str, delivery_id: str) -> dict[str, Any] | None:
    """One delivery of a subscription with its notification's event type."""
    row = conn.execute(
        sa.select(deliveries, notifications.c.event_type)
        .join(notifications, notifications.c.id == deliveries.c.notification_id)
        .where(
            deliveries.c.account_id == account_id,
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.id == delivery_id,
        )
    ).first()
    return dict(row._mapping) if row else None


def count_deliveries(conn: sa.Connection, account_id: str, subscription_id: str, *, status: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(deliveries)
    query = query.where(*_of_subscription(account_id, subscription_id, status))
    return int(conn.execute(query).scalar_one())


# ---- worker ------------------------------------------------------------------------------


def _claimable(now: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        deliveries.c.status == PENDING,
        deliveries.c.next_attempt_at <= now,
        sa.or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at <= now),
    )


def any_due(conn: sa.Connection, *, now: int) -> bool:
    """A cheap read: is anything claimable? (Idle workers never take SQLite's write lock.)"""
    return conn.execute(sa.select(deliveries.c.id).where(_claimable(now)).limit(1)).first() is not None


def claim(
    conn: sa.Connection,
    *,
    now: int,
    limit: int,
    token: str,
    lease_until: int,
    per_subscription: int,
    busy: dict[str, int] | None = None,
) -> list[str]:
    """Lease up to `limit` due deliveries to `token`, oldest due first, at most
    `per_subscription` per subscription counting `busy` (deliveries this worker already has
    in flight, per subscription), so one slow receiver cannot take every slot.

    On PostgreSQL rows locked by another claimer are skipped (FOR UPDATE SKIP LOCKED); on
    SQLite the write transaction (BEGIN IMMEDIATE) is exclusive."""
    busy = busy or {}
    full = [sub for sub, n in busy.items() if n >= per_subscription]
    query = (
        sa.select(deliveries.c.id, deliveries.c.subscription_id)
        .where(_claimable(now))
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit * 4)
    )
    if full:
        query = query.where(deliveries.c.subscription_id.not_in(full))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken: dict[str, int] = dict(busy)
    ids: list[str] = []
    for r in conn.execute(query):
        if len(ids) >= limit:
            break
        if taken.get(r.subscription_id, 0) < per_subscription:
            taken[r.subscription_id] = taken.get(r.subscription_id, 0) + 1
            ids.append(str(r.id))
    if not ids:
        return []
    conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.id.in_(ids), _claimable(now))
        .values(lease_token=token, lease_expires_at=lease_until, attempts=deliveries.c.attempts + 1, updated_at=now)
    )
    return ids


def claimed(conn: sa.Connection, token: str) -> list[dict[str, Any]]:
    """The deliveries leased to `token`, with their bodies and their account's private key."""
    rows = conn.execute(
        sa.select(
            deliveries.c.id,
            deliveries.c.account_id,
            deliveries.c.subscription_id,
            deliveries.c.callback_url,
            deliveries.c.attempts,
            deliveries.c.created_at,
            notifications.c.body,
            keys.c.private_pem,
        )
        .join(notifications, notifications.c.id == deliveries.c.notification_id)
        .outerjoin(keys, keys.c.account_id == deliveries.c.account_id)
        .where(deliveries.c.lease_token == token, deliveries.c.status == PENDING)
        .order_by(deliveries.c.next_attempt_at)
    )
    return [dict(r._mapping) for r in rows]


def finish_attempt(conn: sa.Connection, *, delivery_id: str, token: str, now: int, values: dict[str, Any]) -> bool:
    """Record an attempt's outcome, only while the lease is still ours (else another
    worker took over after it expired, and its outcome wins)."""
    result = conn.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.lease_token == token, deliveries.c.status == PENDING)
        .values(lease_token=None, lease_expires_at=None, updated_at=now, **values)
    )
    return result.rowcount > 0


# ---- periodic notifications ----------------------------------------------------------------


def has_run(conn: sa.Connection, account_id: str, kind: str, period: str) -> bool:
    row = conn.execute(
        sa.select(runs.c.period).where(runs.c.account_id == account_id, runs.c.kind == kind, runs.c.period == period)
    ).first()
    return row is not None


def mark_run(conn: sa.Connection, account_id: str, kind: str, period: str, now: int) -> bool:
    """Record that `kind` was computed for the account and period; False when it was already."""
    values = {"account_id": account_id, "kind": kind, "period": period, "created_at": now}
    stmt = _insert_ignore(conn, runs, values, ["account_id", "kind", "period"])
    return conn.execute(stmt.returning(runs.c.period)).first() is not None


def delivery_counts(conn: sa.Connection, account_id: str) -> dict[str, int]:
    """{status: count} of the account's deliveries (pending, delivered, failed, cancelled)."""
    rows = conn.execute(
        sa.select(deliveries.c.status, sa.func.count())
        .where(deliveries.c.account_id == account_id)
        .group_by(deliveries.c.status)
    )
    return {str(r[0]): int(r[1]) for r in rows}
