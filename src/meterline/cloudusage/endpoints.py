"""HTTP only: POST /cloudUsageSubmission (Vayu's submitCloudUsage) and the extension GET."""

from typing import Annotated

from fastapi import Depends, Query

from meterline.cloudusage import service
from meterline.cloudusage.schemas import (
    ListCloudUsageResultsResponse,
    SubmitCloudUsageRequest,
    SubmitCloudUsageResponse,
)
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, make_router, ok

router = make_router(tags=["cloud-usage-submission"])


@router.post(
    "/cloudUsageSubmission",
    operation_id="submitCloudUsage",
    response_model=SubmitCloudUsageResponse,
    summary="Submit cloud usage (stored only: Meterline talks to no marketplace)",
)
def submit(body: SubmitCloudUsageRequest, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok(service.submit(conn, account_id=account.account_id, data=body))


@router.get(
    "/cloudUsageSubmission",
    operation_id="listCloudUsageResults",
    response_model=ListCloudUsageResultsResponse,
    summary="List the stored cloud usage results (extension), oldest first",
)
def list_results(
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    productCode: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> JSONResp:
    result = service.list_page(conn, account_id=account.account_id, product_code=productCode, page=page)
    return ok(result.body("results"))
