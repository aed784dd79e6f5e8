"""Dashboard pages: invoices (filtered by status and customer, paginated), an invoice, and
recording a payment. Each calls what the API's invoice endpoints call: reading invoices may
issue ended cycles, so reads run in a write transaction, as GET /invoices does.
"""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError

from meterline.db.engine import Database, transaction
from meterline.db.session import get_db
from meterline.invoices import payments, service
from meterline.invoices.job import grace_of
from meterline.invoices.schemas import PaymentRequest
from meterline.kit.errors import ApiError, InvalidParameter
from meterline.kit.ids import ID_PATTERN
from meterline.kit.times import now_us, parse_instant, to_us
from meterline.ui.paging import page_of
from meterline.ui.render import UiRoute, page, redirect
from meterline.ui.session import Form, Session, check_csrf

router = APIRouter(route_class=UiRoute)

PAGE_SIZE = 10  # the API's default
STATUSES = ("None", "PendingPayment", "Overdue", "Paid", "Rejected")
Db = Annotated[Database, Depends(get_db)]


def _grace(request: Request) -> int:
    return grace_of(request.app.state.settings)


@router.get("/invoices")
def invoice_list(
    request: Request,
    session: Session,
    db: Db,
    status: Annotated[str, Query(max_length=20)] = "",
    customerId: Annotated[str, Query(max_length=64)] = "",
    cursor: str | None = None,
) -> Response:
    if customerId and not re.fullmatch(ID_PATTERN, customerId):
        raise InvalidParameter("customerId must be 24 hexadecimal characters", param="customerId")
    with transaction(db) as conn:
        result = service.list_page(
            conn,
            account_id=session.account_id,
            page=page_of(cursor, default=PAGE_SIZE),
            now=now_us(),
            customer_id=customerId.lower() or None,
            billing_status=status or None,
            grace_us=_grace(request),
            unbilled=False,  # not shown in the list (a usage read per issued invoice)
        )
    return page(
        request,
        "invoices.html",
        session=session,
        result=result.body("invoices"),
        status_filter=status,
        customer_id=customerId,
        statuses=STATUSES,
    )


def _invoice_page(request: Request, session: Session, db: Database, invoice_id: str, **extra: Any) -> Response:
    now = now_us()
    with transaction(db) as conn:
        invoice = service.get(
            conn, account_id=session.account_id, invoice_id=invoice_id, now=now, grace_us=_grace(request)
        )
        paid = payments.list_payments(conn, account_id=session.account_id, invoice_id=invoice_id)
    status = 400 if extra.get("payment_error") else 200
    context = {"payment_error": None, "form": {}, **extra}
    return page(request, "invoice.html", status=status, session=session, invoice=invoice, payments=paid, **context)


@router.get("/invoices/{invoice_id}")
def invoice_page(request: Request, invoice_id: str, session: Session, db: Db) -> Response:
    return _invoice_page(request, session, db, invoice_id.lower())


@router.post("/invoices/{invoice_id}/payments")
def record_payment(request: Request, invoice_id: str, session: Session, db: Db, form: Form) -> Response:
    """POST /invoices/{id}/payments from a form (amount, reference, paidAt); 303 back to the
    invoice, or the invoice page with the refusal (400) and the form as typed."""
    check_csrf(session, form)
    invoice_id, now = invoice_id.lower(), now_us()
    fields = {k: form.get(k, "").strip() for k in ("amount", "reference", "paidAt")}
    try:
        body = PaymentRequest.model_validate({k: v for k, v in fields.items() if v or k != "paidAt"})
        with transaction(db) as conn:
            payments.record(
                conn,
                account_id=session.account_id,
                invoice_id=invoice_id,
                amount=body.amount,
                reference=body.reference,
                paid_at=None if body.paidAt is None else to_us(parse_instant(body.paidAt, param="paidAt")),
                now=now,
                grace_us=_grace(request),
            )
    except ValidationError as exc:
        where = ".".join(str(x) for x in exc.errors()[0]["loc"])
        message = f"{where}: {exc.errors()[0]['msg']}"
        return _invoice_page(request, session, db, invoice_id, payment_error=message, form=fields)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _invoice_page(request, session, db, invoice_id, payment_error=exc.message, form=fields)
    return redirect(f"/ui/invoices/{invoice_id}?recorded=1")
