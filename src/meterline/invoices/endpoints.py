"""HTTP only: parse, call the service, answer in Vayu's shapes.

Reading invoices may issue the ones whose cycle has ended and create the open cycle's
draft, so these GETs run in a write transaction of their own (on SQLite a read
transaction cannot safely turn into a write one); it commits before the answer.
"""

import re
from typing import Annotated

from fastapi import Depends, Query, Request

from meterline.db.engine import Database, transaction
from meterline.db.session import get_db
from meterline.invoices import payments, service
from meterline.invoices.job import grace_of
from meterline.invoices.schemas import (
    InvoicePaymentStatusResponse,
    InvoiceResponse,
    ListInvoicesResponse,
    ListPaymentsResponse,
    PaymentRequest,
    PaymentResponse,
)
from meterline.kit.auth import CurrentAccount
from meterline.kit.errors import InvalidParameter
from meterline.kit.ids import ID_PATTERN
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.kit.times import now_us, parse_instant, to_us

router = make_router(tags=["invoices"])

InvoiceId = PathId


def _instant(value: str | None, param: str) -> int | None:
    return None if value is None else to_us(parse_instant(value, param=param))


def _grace(request: Request) -> int:
    """METERLINE_INVOICE_GRACE_SECONDS (µs): reads issue only cycles that ended this long ago."""
    return grace_of(request.app.state.settings)


Grace = Annotated[int, Depends(_grace)]


@router.get(
    "/invoices",
    operation_id="listInvoices",
    responses=errors(404),
    response_model=ListInvoicesResponse,
    summary="List invoices",
)
def list_invoices(
    db: Annotated[Database, Depends(get_db)],
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    customerId: Annotated[str | None, Query()] = None,
    billingStatus: Annotated[str | None, Query(description="None, PendingPayment, Overdue, Paid, Rejected")] = None,
    issuedAtFrom: Annotated[str | None, Query(description="issued on or after (ISO 8601)")] = None,
    issuedAtTo: Annotated[str | None, Query(description="issued on or before (ISO 8601)")] = None,
    grace_us: Grace = 0,
) -> JSONResp:
    if customerId is not None and not re.fullmatch(ID_PATTERN, customerId):
        raise InvalidParameter("customerId must be 24 hexadecimal characters", param="customerId")
    with transaction(db) as conn:
        result = service.list_page(
            conn,
            account_id=account.account_id,
            page=page,
            now=now_us(),
            customer_id=None if customerId is None else customerId.lower(),
            billing_status=billingStatus,
            issued_from=_instant(issuedAtFrom, "issuedAtFrom"),
            issued_to=_instant(issuedAtTo, "issuedAtTo"),
            grace_us=grace_us,
        )
    return ok(result.body("invoices"))


@router.get("/invoices/{invoiceId}", operation_id="getInvoice", response_model=InvoiceResponse, summary="Get invoice")
def get_invoice(
    invoiceId: InvoiceId, db: Annotated[Database, Depends(get_db)], account: CurrentAccount, grace_us: Grace
) -> JSONResp:
    with transaction(db) as conn:
        invoice = service.get(
            conn, account_id=account.account_id, invoice_id=invoiceId.lower(), now=now_us(), grace_us=grace_us
        )
    return ok({"invoice": invoice})


@router.get(
    "/invoices/{invoiceId}/payment-status",
    operation_id="getInvoicePaymentStatus",
    response_model=InvoicePaymentStatusResponse,
    summary="Get invoice payment status",
)
def get_payment_status(
    invoiceId: InvoiceId, db: Annotated[Database, Depends(get_db)], account: CurrentAccount, grace_us: Grace
) -> JSONResp:
    with transaction(db) as conn:
        body = service.payment_status(
            conn, account_id=account.account_id, invoice_id=invoiceId.lower(), now=now_us(), grace_us=grace_us
        )
    return ok(body)


@router.post(
    "/invoices/{invoiceId}/payments",
    operation_id="recordInvoicePayment",
    response_model=PaymentResponse,
    summary="Record a payment against an issued invoice (Meterline extension; idempotent by reference)",
)
def record_payment(
    invoiceId: InvoiceId,
    body: PaymentRequest,
    db: Annotated[Database, Depends(get_db)],
    account: CurrentAccount,
    grace_us: Grace,
) -> JSONResp:
    now = now_us()
    invoice_id = invoiceId.lower()
    with transaction(db) as conn:
        recorded = payments.record(
            conn,
            account_id=account.account_id,
            invoice_id=invoice_id,
            amount=body.amount,
            reference=body.reference,
            paid_at=_instant(body.paidAt, "paidAt"),
            now=now,
            grace_us=grace_us,
        )
        status = service.payment_status(
            conn, account_id=account.account_id, invoice_id=invoice_id, now=now, grace_us=grace_us
        )
    return ok({"payment": recorded.payment, "created": recorded.created, "paymentStatus": status})


@router.get(
    "/invoices/{invoiceId}/payments",
    operation_id="listInvoicePayments",
    response_model=ListPaymentsResponse,
    summary="Payments recorded against an invoice (Meterline extension)",
)
def list_payments(invoiceId: InvoiceId, db: Annotated[Database, Depends(get_db)], account: CurrentAccount) -> JSONResp:
    with transaction(db, write=False) as conn:
        rows = payments.list_payments(conn, account_id=account.account_id, invoice_id=invoiceId.lower())
    return ok({"payments": rows, "total": len(rows)})
