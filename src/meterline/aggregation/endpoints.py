"""HTTP only: `POST /v2/events/aggregation` (the official client's v2_query_events_aggregation)."""

from fastapi import Request

from meterline.aggregation import service
from meterline.aggregation.schemas import AggregationRequest, AggregationResponse
from meterline.db.session import run_read
from meterline.kit.auth import CurrentAccount
from meterline.kit.routing import JSONResp, make_router, ok

router = make_router(tags=["events v2"])


@router.post(
    "/v2/events/aggregation",
    operation_id="v2QueryEventsAggregation",
    response_model=AggregationResponse,
    summary="Aggregate events by inline meters and calendar groups (usage over time)",
)
async def aggregate(request: Request, body: AggregationRequest, account: CurrentAccount) -> JSONResp:
    # A read, though a POST: one read transaction (one snapshot on PostgreSQL, REPEATABLE
    # READ), so its usage reads see the rollups and their backlog at one instant.
    answer = await run_read(request, lambda conn: service.query(conn, account_id=account.account_id, body=body))
    return ok(answer)
