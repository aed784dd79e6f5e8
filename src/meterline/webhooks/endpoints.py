"""HTTP only: Vayu's POST /webhook, and our GET/DELETE /webhooks extensions and public key."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from meterline.db.engine import Database
from meterline.db.session import Conn, get_db
from meterline.kit.auth import CurrentAccount
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.webhooks import keys, resend, service
from meterline.webhooks.schemas import (
    DeleteWebhookResponse,
    DeliveryResponse,
    DeliveryStatus,
    ListDeliveriesResponse,
    ListWebhooksResponse,
    NotificationEventType,
    PublicKeyResponse,
    WebhookResponse,
    WebhookSubscribe,
)

router = make_router(tags=["webhooks"])

WebhookId = PathId
PEM_TYPE = "application/x-pem-file"


@router.post(
    "/webhook",
    operation_id="webhookSubscribe",
    responses=errors(409),
    response_model=WebhookResponse,
    summary="Subscribe to webhooks",
)
def subscribe(body: WebhookSubscribe, conn: Conn, account: CurrentAccount, request: Request) -> JSONResp:
    allowed = request.app.state.settings.webhook_allowed_networks
    return ok({"webhook": service.subscribe(conn, account_id=account.account_id, data=body, allowed_networks=allowed)})


@router.get("/webhooks", operation_id="listWebhooks", response_model=ListWebhooksResponse, summary="List webhooks")
def list_webhooks(
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    eventType: Annotated[NotificationEventType | None, Query(description="only this event type")] = None,
) -> JSONResp:
    result = service.list_page(conn, account_id=account.account_id, page=page, event_type=eventType)
    return ok(result.body("webhooks"))


@router.get("/webhook/public-key", include_in_schema=False)  # the singular spelling of POST /webhook
@router.get(
    "/webhooks/public-key",
    operation_id="getWebhookPublicKey",
    response_model=PublicKeyResponse,
    summary="The account's webhook signing public key",
    responses={200: {"content": {PEM_TYPE: {"schema": {"type": "string"}}}}},
)
def public_key(request: Request, db: Annotated[Database, Depends(get_db)], account: CurrentAccount) -> Response:
    pem = service.public_key(db, account_id=account.account_id)
    if PEM_TYPE in request.headers.get("accept", ""):
        return Response(pem, media_type=PEM_TYPE)
    return ok({"publicKey": pem, "algorithm": "RSASSA-PKCS1-v1_5-SHA256", "signatureVersion": keys.SIGNATURE_VERSION})


@router.get("/webhooks/{webhookId}", operation_id="getWebhook", response_model=WebhookResponse, summary="Get webhook")
def get_webhook(webhookId: WebhookId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"webhook": service.get(conn, account_id=account.account_id, subscription_id=webhookId.lower())})


@router.delete(
    "/webhooks/{webhookId}",
    operation_id="deleteWebhook",
    response_model=DeleteWebhookResponse,
    summary="Delete (unsubscribe) a webhook",
)
def delete_webhook(webhookId: WebhookId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"webhook": service.delete(conn, account_id=account.account_id, subscription_id=webhookId.lower())})


@router.get(
    "/webhooks/{webhookId}/deliveries",
    operation_id="listWebhookDeliveries",
    response_model=ListDeliveriesResponse,
    summary="Deliveries of a webhook (status, attempts, last answer)",
)
def list_deliveries(
    webhookId: WebhookId,
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    status: Annotated[DeliveryStatus | None, Query(description="only deliveries in this state")] = None,
) -> JSONResp:
    result = service.list_deliveries(
        conn, account_id=account.account_id, subscription_id=webhookId.lower(), page=page, status=status
    )
    return ok(result.body("deliveries"))


@router.post(
    "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
    operation_id="redeliverWebhookDelivery",
    response_model=DeliveryResponse,
    responses=errors(400, 404),
    summary="Queue a finished delivery again, as a new delivery of the same notification",
)
def redeliver(webhookId: WebhookId, deliveryId: PathId, conn: Conn, account: CurrentAccount) -> JSONResp:
    delivery = resend.redeliver(
        conn, account_id=account.account_id, subscription_id=webhookId.lower(), delivery_id=deliveryId.lower()
    )
    return ok({"delivery": delivery})


@router.post(
    "/webhooks/{webhookId}/test",
    operation_id="sendWebhookTest",
    response_model=DeliveryResponse,
    responses=errors(400, 404),
    summary="Queue a test notification (PingTest, data.test = true) to this webhook",
)
def send_test(webhookId: WebhookId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"delivery": resend.send_test(conn, account_id=account.account_id, subscription_id=webhookId.lower())})
