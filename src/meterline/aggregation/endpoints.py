"""HTTP only: `POST /v2/events/aggregation` (the official client's v2_query_events_aggregation)."""

from meterline.aggregation import service
from meterline.aggregation.schemas import AggregationRequest, AggregationResponse
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.routing import JSONResp, make_router, ok

router = make_router(tags=["events v2"])


@router.post(
    "/v2/events/aggregation",
    operation_id="v2QueryEventsAggregation",
    response_model=AggregationResponse,
    summary="Aggregate events by inline meters and calendar groups (usage over time)",
)
def aggregate(body: AggregationRequest, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok(service.query(conn, account_id=account.account_id, body=body))
