"""Webhook use cases: subscriptions, the account's signing key, and the outbox API other
domains call (`enqueue`, `enqueue_to`, `subscriptions_for`) inside their own transaction.

Nothing here sends anything: rows written in the caller's transaction become visible to
the delivery worker (webhooks.worker) only when that transaction commits; a rollback
leaves nothing to send.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from meterline.db.engine import Database, transaction
from meterline.kit import jsonenc
from meterline.kit.errors import BadRequest, Conflict, InvalidParameter, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import iso_us, now_us
from meterline.webhooks import egress, keys
from meterline.webhooks import repository as repo
from meterline.webhooks.schemas import NotificationEventType, WebhookSubscribe


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    account_id: str
    event_type: str
    callback_url: str
    threshold: Decimal | None
    created_at: int  # µs since the epoch


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        account_id=row["account_id"],
        event_type=row["event_type"],
        callback_url=row["callback_url"],
        threshold=row["threshold"],
        created_at=row["created_at"],
    )


def to_wire(row: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "callbackUrl": row["callback_url"],
        "eventType": row["event_type"],
        "threshold": row["threshold"],
        "createdAt": iso_us(row["created_at"]),
        "updatedAt": iso_us(row["updated_at"]),
    }
    if deleted and row.get("deleted_at") is not None:
        out["deletedAt"] = iso_us(row["deleted_at"])
    return out


# ---- signing key -------------------------------------------------------------------------


def ensure_key(conn: sa.Connection, *, account_id: str, pair: keys.KeyPair | None = None) -> str:
    """The account's public key PEM, generating and storing the key pair on first need."""
    pem = repo.get_public_pem(conn, account_id)
    if pem is None:
        pair = pair or keys.generate_key_pair()
        repo.insert_key_if_absent(
            conn, account_id=account_id, public_pem=pair.public_pem, private_pem=pair.private_pem, now=now_us()
        )
        pem = repo.get_public_pem(conn, account_id)
    assert pem is not None
    return pem


def public_key(db: Database, *, account_id: str) -> str:
    """For GET: read first; only a first call generates (outside any lock) and writes."""
    with transaction(db, write=False) as conn:
        pem = repo.get_public_pem(conn, account_id)
    if pem is not None:
        return pem
    pair = keys.generate_key_pair()
    with transaction(db) as conn:
        return ensure_key(conn, account_id=account_id, pair=pair)


# ---- subscriptions -----------------------------------------------------------------------


# Types of the client's enum that Meterline never sends: refused at subscribe (400) rather
# than accepted in silence.
UNSERVED = {
    NotificationEventType.CustomerPortalLinkSent.value: "Meterline has no customer portal: no portal link is ever sent",
    NotificationEventType.InvoiceSendFailed.value: "Meterline sends no invoices, so no invoice sending ever fails",
}


def subscribe(
    conn: sa.Connection, *, account_id: str, data: WebhookSubscribe, allowed_networks: str = ""
) -> dict[str, Any]:
    """Create a subscription (and queue its PingTest), or, when the same callbackUrl is
    already subscribed to this event type, update its threshold and answer it.

    A callbackUrl whose host is (or resolves to) an internal address not in
    `allowed_networks` (webhooks.egress) is 400 validation_failed, param callbackUrl; a
    type in UNSERVED is 400 event_type_unsupported."""
    reason = UNSERVED.get(data.eventType.value)
    if reason is not None:
        raise InvalidParameter(
            f"eventType {data.eventType.value} is not served: {reason}.",
            param="eventType",
            code="event_type_unsupported",
        )
    host = urlsplit(data.callbackUrl).hostname or ""
    why = egress.check_host(host, egress.parse_networks(allowed_networks))
    if why is not None:
        raise BadRequest(f"callbackUrl: {why}", param="callbackUrl")
    ensure_key(conn, account_id=account_id)
    now = now_us()
    existing = repo.find_live(conn, account_id, data.eventType.value, data.callbackUrl)
    if existing is not None:
        repo.set_threshold(conn, account_id, existing["id"], data.threshold, now)
        row = repo.get_subscription(conn, account_id, existing["id"])
        assert row is not None
        return to_wire(row)
    subscription_id = new_id()
    try:
        repo.insert_subscription(
            conn,
            account_id=account_id,
            subscription_id=subscription_id,
            event_type=data.eventType.value,
            callback_url=data.callbackUrl,
            threshold=data.threshold,
            now=now,
        )
    except IntegrityError:
        raise Conflict("This callbackUrl was subscribed to this event type concurrently; retry.") from None
    row = repo.get_subscription(conn, account_id, subscription_id)
    assert row is not None
    ping = {"webhookId": subscription_id, "eventType": data.eventType.value, "callbackUrl": data.callbackUrl}
    enqueue_to(
        conn,
        account_id=account_id,
        subscription_id=subscription_id,
        event_type=NotificationEventType.PingTest,
        data=ping,
        dedupe_key="subscribed",
    )
    return to_wire(row)


def get(conn: sa.Connection, *, account_id: str, subscription_id: str) -> dict[str, Any]:
    row = repo.get_subscription(conn, account_id, subscription_id)
    if row is None:
        raise NotFound(f"Webhook {subscription_id} not found.")
    return to_wire(row)


def list_page(
    conn: sa.Connection, *, account_id: str, page: PageRequest, event_type: NotificationEventType | None = None
) -> Page:
    kind = event_type.value if event_type is not None else None
    rows = repo.page_subscriptions(conn, account_id, event_type=kind, after_seq=page.after_seq, limit=page.limit)
    total = repo.count_subscriptions(conn, account_id, event_type=kind)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=total)


def delete(conn: sa.Connection, *, account_id: str, subscription_id: str) -> dict[str, Any]:
    """Soft delete; its deliveries still pending are cancelled (never sent)."""
    if repo.get_subscription(conn, account_id, subscription_id) is None:
        raise NotFound(f"Webhook {subscription_id} not found.")
    repo.mark_subscription_deleted(conn, account_id, subscription_id, now_us())
    row = repo.get_subscription(conn, account_id, subscription_id, deleted_too=True)
    assert row is not None
    return to_wire(row, deleted=True)


def delivery_wire(row: dict[str, Any]) -> dict[str, Any]:
    pending = row["status"] == repo.PENDING
    return {
        "id": row["id"],
        "notificationId": row["notification_id"],
        "eventType": row["event_type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "nextAttemptAt": iso_us(row["next_attempt_at"]) if pending else None,
        "lastStatusCode": row["last_status"],
        "lastError": row["last_error"],
        "createdAt": iso_us(row["created_at"]),
        "finishedAt": iso_us(row["finished_at"]) if row["finished_at"] is not None else None,
    }


def list_deliveries(
    conn: sa.Connection, *, account_id: str, subscription_id: str, page: PageRequest, status: str | None = None
) -> Page:
    """A subscription's deliveries (also of a deleted one), oldest first; `status`
    (pending | delivered | failed | cancelled) keeps only those in that state."""
    if repo.get_subscription(conn, account_id, subscription_id, deleted_too=True) is None:
        raise NotFound(f"Webhook {subscription_id} not found.")
    rows = repo.page_deliveries(
        conn, account_id, subscription_id, after_seq=page.after_seq, limit=page.limit, status=status
    )
    total = repo.count_deliveries(conn, account_id, subscription_id, status=status)
    return make_page([(r["seq"], delivery_wire(r)) for r in rows], limit=page.limit, total=total)


# ---- the outbox API (called by other domains, in their transaction) ----------------------


def _event_type(event_type: str) -> str:
    try:
        return NotificationEventType(event_type).value
    except ValueError:
        raise ValueError(f"unknown webhook event type {event_type!r}") from None


def _write(
    conn: sa.Connection,
    *,
    account_id: str,
    event_type: str,
    data: dict[str, Any],
    dedupe_key: str | None,
    scope: str,
    targets: list[dict[str, Any]],
) -> list[str]:
    """The ids of the deliveries queued (none: no target, or a duplicate)."""
    if not targets:
        return []
    notification_id, now = new_id(), now_us()
    body = {"type": event_type, "id": notification_id, "createdAt": iso_us(now), "data": data}
    inserted = repo.insert_notification(
        conn,
        notification_id=notification_id,
        account_id=account_id,
        event_type=event_type,
        scope=scope,
        dedupe_key=dedupe_key,
        body=jsonenc.dumps(body).decode(),
        now=now,
    )
    if not inserted:
        return []
    rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "notification_id": notification_id,
            "subscription_id": t["id"],
            "callback_url": t["callback_url"],
            "status": repo.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for t in targets
    ]
    repo.insert_deliveries(conn, rows)
    return [row["id"] for row in rows]


def enqueue(
    conn: sa.Connection, *, account_id: str, event_type: str, data: dict[str, Any], dedupe_key: str | None = None
) -> int:
    """Queue one notification for every live subscription of `account_id` to `event_type`.

    Written in the caller's transaction: sent only after it commits, never if it rolls back.
    With a dedupe_key, a second call with the same (account, event_type, dedupe_key) is a
    no-op. Returns the number of deliveries queued (0: no subscriber, or a duplicate).
    Body sent: {"type": event_type, "id", "createdAt", "data": data}; `data` must be JSON
    (Decimals are written as exact numbers).
    """
    kind = _event_type(event_type)
    targets = repo.live_subscriptions(conn, account_id, kind)
    queued = _write(
        conn, account_id=account_id, event_type=kind, data=data, dedupe_key=dedupe_key, scope="", targets=targets
    )
    return len(queued)


def enqueue_to(
    conn: sa.Connection,
    *,
    account_id: str,
    subscription_id: str,
    event_type: str,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> int:
    """Queue one notification for ONE subscription (e.g. a threshold crossed for it).

    The dedupe_key is scoped to that subscription: (account, event_type, subscription,
    dedupe_key) is delivered once. Returns 1, or 0 (duplicate, or no such live subscription).
    """
    queued = queue_to(
        conn,
        account_id=account_id,
        subscription_id=subscription_id,
        event_type=event_type,
        data=data,
        dedupe_key=dedupe_key,
    )
    return len(queued)


def queue_to(
    conn: sa.Connection,
    *,
    account_id: str,
    subscription_id: str,
    event_type: str,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> list[str]:
    """enqueue_to answering the id of the delivery queued ([] when nothing was)."""
    kind = _event_type(event_type)
    row = repo.get_subscription(conn, account_id, subscription_id)
    targets = [row] if row is not None else []
    return _write(
        conn,
        account_id=account_id,
        event_type=kind,
        data=data,
        dedupe_key=dedupe_key,
        scope=subscription_id,
        targets=targets,
    )


def subscriptions_for(conn: sa.Connection, *, account_id: str, event_type: str) -> list[Subscription]:
    """The live subscriptions of an account to an event type, oldest first, with thresholds."""
    return [_subscription(r) for r in repo.live_subscriptions(conn, account_id, _event_type(event_type))]


def delivery_counts(conn: sa.Connection, *, account_id: str) -> dict[str, int]:
    """{status: count} of the account's webhook deliveries (the dashboard's overview)."""
    return repo.delivery_counts(conn, account_id)
