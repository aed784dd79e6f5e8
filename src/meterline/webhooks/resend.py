"""Sending again on demand (API extensions, also behind the dashboard's buttons):
redeliver a finished delivery, and queue a test notification to one subscription.

Both only write outbox rows in the caller's transaction; the delivery worker
(webhooks.worker) sends them after the commit, signed and through the egress guard,
like any other delivery. Nothing is sent from the request.
"""

from typing import Any

import sqlalchemy as sa

from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import new_id
from meterline.kit.times import now_us
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from meterline.webhooks.schemas import NotificationEventType

TEST_TYPE = NotificationEventType.PingTest.value


def _subscription(conn: sa.Connection, account_id: str, subscription_id: str) -> dict[str, Any]:
    """The subscription, deleted or not; 404 when this account has none with that id."""
    row = repo.get_subscription(conn, account_id, subscription_id, deleted_too=True)
    if row is None:
        raise NotFound(f"Webhook {subscription_id} not found.", param="webhookId")
    return row


def _live(row: dict[str, Any], subscription_id: str) -> dict[str, Any]:
    """The subscription row; 400 when deleted."""
    if row["deleted_at"] is not None:
        raise BadRequest(
            f"Webhook {subscription_id} is deleted: nothing is sent to it any more; "
            "subscribe again with POST /webhook.",
            param="webhookId",
            code="webhook_deleted",
        )
    return row


def redeliver(conn: sa.Connection, *, account_id: str, subscription_id: str, delivery_id: str) -> dict[str, Any]:
    """Queue a delivered or failed delivery again, as a NEW delivery of the same
    notification (same body, same notification `id`, so receivers can deduplicate) to the
    subscription's callbackUrl, due now, with a fresh 24 h retry window. The old delivery
    stays in the log unchanged. Answers the new delivery (DeliveryOut, status pending).

    Errors: 404 unknown webhook or delivery (another account's too); 400 webhook_deleted
    (the subscription is deleted); 400 delivery_pending (it is still queued: the worker
    will attempt it at its nextAttemptAt)."""
    sub = _subscription(conn, account_id, subscription_id)
    old = repo.get_delivery(conn, account_id, subscription_id, delivery_id)
    if old is None:
        raise NotFound(f"Delivery {delivery_id} of webhook {subscription_id} not found.", param="deliveryId")
    _live(sub, subscription_id)
    if old["status"] == repo.PENDING:
        raise BadRequest(
            f"Delivery {delivery_id} is still pending: the worker attempts it at its nextAttemptAt.",
            param="deliveryId",
            code="delivery_pending",
        )
    now = now_us()
    new = {
        "id": new_id(),
        "account_id": account_id,
        "notification_id": old["notification_id"],
        "subscription_id": subscription_id,
        "callback_url": sub["callback_url"],
        "status": repo.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    repo.insert_deliveries(conn, [new])
    row = repo.get_delivery(conn, account_id, subscription_id, new["id"])
    assert row is not None
    return service.delivery_wire(row)


def send_test(conn: sa.Connection, *, account_id: str, subscription_id: str) -> dict[str, Any]:
    """Queue a test notification to this subscription alone, whatever its event type:
    body {"type": "PingTest", "id", "createdAt", "data": {"webhookId", "eventType" (the
    subscribed type), "callbackUrl", "test": true}}, signed like every notification.
    Each call queues a new one. Answers its delivery (DeliveryOut, status pending).

    Errors: 404 unknown webhook (another account's too); 400 webhook_deleted."""
    sub = _live(_subscription(conn, account_id, subscription_id), subscription_id)
    data = {"webhookId": subscription_id, "eventType": sub["event_type"], "callbackUrl": sub["callback_url"]}
    queued = service.queue_to(
        conn, account_id=account_id, subscription_id=subscription_id, event_type=TEST_TYPE, data={**data, "test": True}
    )
    row = repo.get_delivery(conn, account_id, subscription_id, queued[0])
    assert row is not None
    return service.delivery_wire(row)
