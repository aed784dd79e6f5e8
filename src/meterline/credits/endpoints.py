"""HTTP only: the credit ledger (grant, deduct, list)."""

from typing import Annotated

from fastapi import Depends, Query

from meterline.credits import service
from meterline.credits.schemas import CreditEntryResponse, CreditsRequest, ListCreditLedgerEntriesResponse
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.ids import ID_PATTERN
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, make_router, ok

router = make_router(tags=["credits"])


def _answer(conn: Conn, account_id: str, customer_id: str, entry: dict[str, object]) -> JSONResp:
    return ok({"entry": entry, "balance": service.balance(conn, account_id=account_id, customer_id=customer_id)})


@router.post(
    "/credits/grant",
    operation_id="grantCredits",
    responses=errors(404),
    response_model=CreditEntryResponse,
    summary="Grant credits to a customer credit ledger",
)
def grant_credits(body: CreditsRequest, conn: Conn, account: CurrentAccount) -> JSONResp:
    customer_id = body.customerId.lower()
    entry = service.grant(conn, account_id=account.account_id, customer_id=customer_id, amount=body.creditAmount)
    return _answer(conn, account.account_id, customer_id, entry)


@router.post(
    "/credits/deduct",
    operation_id="deductCredits",
    responses=errors(404),
    response_model=CreditEntryResponse,
    summary="Deduct credits from customer credit ledger",
)
def deduct_credits(body: CreditsRequest, conn: Conn, account: CurrentAccount) -> JSONResp:
    customer_id = body.customerId.lower()
    entry = service.deduct(conn, account_id=account.account_id, customer_id=customer_id, amount=body.creditAmount)
    return _answer(conn, account.account_id, customer_id, entry)


@router.get(
    "/credits",
    operation_id="listCreditLedgerEntries",
    responses=errors(404),
    response_model=ListCreditLedgerEntriesResponse,
    summary="Retrieve credit ledger entries for customer.",
)
def list_entries(
    conn: Conn,
    account: CurrentAccount,
    customerId: Annotated[str, Query(pattern=ID_PATTERN)],
    page: Annotated[PageRequest, Depends(page_request)],
) -> JSONResp:
    customer_id = customerId.lower()
    body = service.list_page(conn, account_id=account.account_id, customer_id=customer_id, page=page).body("entries")
    body["balance"] = service.balance(conn, account_id=account.account_id, customer_id=customer_id)
    return ok(body)
