"""Dashboard pages: webhook subscriptions, a subscription's delivery log, and the
Redeliver / Test send buttons.

The data is `GET /webhooks` and `GET /webhooks/{id}/deliveries` (service calls); the two
buttons call the services of the API extensions `POST /webhooks/{id}/deliveries/{id}/redeliver`
and `POST /webhooks/{id}/test` (webhooks.resend): they queue a delivery for the worker and
redirect back to the log (post/redirect/get), naming the delivery queued.
"""

from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request, Response

from meterline.db.session import Conn
from meterline.kit.errors import InvalidParameter
from meterline.ui.paging import page_of
from meterline.ui.render import UiRoute, page, redirect
from meterline.ui.session import Form, Session, check_csrf
from meterline.webhooks import resend, service
from meterline.webhooks.schemas import DeliveryStatus, NotificationEventType

router = APIRouter(route_class=UiRoute)

STATUSES = get_args(DeliveryStatus)
EVENT_TYPES = [t.value for t in NotificationEventType]


@router.get("/webhooks")
def webhooks(
    request: Request,
    session: Session,
    conn: Conn,
    eventType: str | None = None,
    cursor: str | None = None,
    limit: str | None = None,
) -> Response:
    kind = None
    if eventType:
        if eventType not in EVENT_TYPES:
            raise InvalidParameter(f"eventType must be one of {', '.join(EVENT_TYPES)}", param="eventType")
        kind = NotificationEventType(eventType)
    listing = service.list_page(conn, account_id=session.account_id, page=page_of(cursor, limit), event_type=kind)
    return page(request, "webhooks.html", session=session, listing=listing.body("webhooks"), event_types=EVENT_TYPES)


@router.get("/webhooks/{webhookId}")
def webhook(
    request: Request,
    session: Session,
    conn: Conn,
    webhookId: str,
    status: str | None = None,
    cursor: str | None = None,
    limit: str | None = None,
    queued: Annotated[str | None, Query(max_length=24)] = None,
) -> Response:
    if status and status not in STATUSES:
        raise InvalidParameter(f"status must be one of {', '.join(STATUSES)}", param="status")
    sid = webhookId.lower()
    subscription = service.get(conn, account_id=session.account_id, subscription_id=sid)
    log = service.list_deliveries(
        conn, account_id=session.account_id, subscription_id=sid, page=page_of(cursor, limit), status=status or None
    )
    return page(
        request,
        "webhook.html",
        session=session,
        webhook=subscription,
        log=log.body("deliveries"),
        statuses=STATUSES,
        queued=queued,
    )


@router.post("/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver")
def redeliver(session: Session, conn: Conn, form: Form, webhookId: str, deliveryId: str) -> Response:
    check_csrf(session, form)
    sid = webhookId.lower()
    new = resend.redeliver(conn, account_id=session.account_id, subscription_id=sid, delivery_id=deliveryId.lower())
    return redirect(f"/ui/webhooks/{sid}?queued={new['id']}")


@router.post("/webhooks/{webhookId}/test")
def send_test(session: Session, conn: Conn, form: Form, webhookId: str) -> Response:
    check_csrf(session, form)
    sid = webhookId.lower()
    new = resend.send_test(conn, account_id=session.account_id, subscription_id=sid)
    return redirect(f"/ui/webhooks/{sid}?queued={new['id']}")
