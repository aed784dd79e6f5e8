"""HTTP only: parse, call the service, answer in Vayu's shapes.

POST /events and /events/dry-run read the raw body and decode it once with msgspec
(exact decimals); the body-size middleware has already capped it at 256 KiB.
"""

import time
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from meterline.db.engine import Database, transaction
from meterline.db.session import Conn
from meterline.events import counts, service
from meterline.events.schemas import (
    DeleteEventResponse,
    DeleteEventsByRefsRequest,
    DeleteEventsByRefsResponse,
    DryRunResponse,
    EventResponse,
    IngestionCountsResponse,
    QueryEventsResponse,
    SendEventsRequest,
    SendEventsResponse,
)
from meterline.kit import jsonenc, metrics
from meterline.kit.auth import CurrentAccount
from meterline.kit.errors import BadRequest
from meterline.kit.openapi import errors, json_body
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, make_router, ok
from meterline.kit.times import parse_instant, to_us

router = make_router(tags=["events"])

_BODY_DOC = json_body(SendEventsRequest)


async def _decode(request: Request) -> Any:
    raw = await request.body()
    try:
        doc = jsonenc.loads(raw)
    except jsonenc.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.", code="bad_request") from None
    if not isinstance(doc, dict):
        raise BadRequest("The request body must be a JSON object with an `events` array.", code="bad_request")
    if "events" not in doc:
        raise BadRequest("events is required", code="parameter_missing", param="events")
    return doc["events"]


async def events_body(request: Request) -> list[Any]:
    events = await _decode(request)
    service.check_batch(events)
    return events  # type: ignore[no-any-return]


async def prepared_body(request: Request) -> service.Prepared:
    """Decoded and validated before the transaction opens, so that one request's
    validation overlaps another's commit."""
    return service.prepare(await _decode(request))


EventsBody = Annotated[list[Any], Depends(events_body)]
PreparedBody = Annotated[service.Prepared, Depends(prepared_body)]


@router.post(
    "/events",
    operation_id="sendEvents",
    response_model=SendEventsResponse,
    summary="Submit a batch of events for ingestion",
    openapi_extra=_BODY_DOC,
)
async def send_events(request: Request, account: CurrentAccount, batch: PreparedBody) -> JSONResp:
    """The writer's turn, the transaction and its commit run in ONE worker-thread hop:
    with sync dependencies, each step (turn, connect, endpoint, commit, release) is a
    hop that can wait for the event loop, busy decoding and validating the next
    request, while the SQLite write lock is held. The batch is screened (and on SQLite
    its rollup merges planned) before the turn, checked against the meters again inside
    it. The commit happens
    before the answer is written (2xx means committed); it is encoded after the turn."""
    db: Database = request.app.state.db
    account_id = account.account_id

    def work() -> dict[str, Any]:
        start = time.perf_counter()
        with transaction(db, write=False) as conn:
            service.prescreen(conn, account_id=account_id, batch=batch)
        out = db.write_grouped(lambda conn: service.store(conn, account_id=account_id, batch=batch))
        if metrics.enabled:
            metrics.INGEST_SECONDS.observe(time.perf_counter() - start)
            duplicate = sum(1 for e in out["invalidEvents"] if e["error"] == service.DUPLICATE)
            metrics.events_counted(len(out["validEvents"]), len(out["invalidEvents"]) - duplicate, duplicate)
        return out

    return ok(await run_in_threadpool(work))


@router.post(
    "/events/dry-run",
    operation_id="sendEventsDryRun",
    response_model=DryRunResponse,
    summary="Submit a batch of events for testing (nothing stored)",
    openapi_extra=_BODY_DOC,
)
def dry_run(account: CurrentAccount, events: EventsBody, conn: Conn) -> JSONResp:
    return ok(service.dry_run(conn, account_id=account.account_id, events=events))


@router.get(
    "/events",
    operation_id="queryEvents",
    response_model=QueryEventsResponse,
    summary="Query events by timestamp period and optional event name",
)
def query_events(
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    startTime: Annotated[str, Query(description="ISO 8601, inclusive")],
    endTime: Annotated[str, Query(description="ISO 8601, exclusive")],
    eventName: Annotated[str | None, Query(min_length=1)] = None,
    customerAlias: Annotated[str | None, Query(min_length=1)] = None,
) -> JSONResp:
    start = to_us(parse_instant(startTime, param="startTime"))
    end = to_us(parse_instant(endTime, param="endTime"))
    result = service.query(
        conn,
        account_id=account.account_id,
        start_us=start,
        end_us=end,
        name=eventName,
        alias=customerAlias,
        page=page,
    )
    return ok(result.body("events"))


@router.get(
    "/ingestion-counts",
    operation_id="getIngestionCounts",
    response_model=IngestionCountsResponse,
    responses=errors(400),
    summary="Events accepted, invalid and duplicate per UTC day of receipt (extension)",
)
def ingestion_counts(
    conn: Conn,
    account: CurrentAccount,
    startTime: Annotated[str, Query(description="ISO 8601; days starting at or after it")],
    endTime: Annotated[str, Query(description="ISO 8601, exclusive; at most 400 days after startTime")],
) -> JSONResp:
    start = to_us(parse_instant(startTime, param="startTime"))
    end = to_us(parse_instant(endTime, param="endTime"))
    return ok(counts.by_day(conn, account_id=account.account_id, start_us=start, end_us=end))


@router.post(
    "/events/delete-by-refs",
    operation_id="deleteEventsByRefs",
    response_model=DeleteEventsByRefsResponse,
    summary="Delete events by refs",
)
def delete_by_refs(body: DeleteEventsByRefsRequest, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"events": service.delete_by_refs(conn, account_id=account.account_id, refs=body.refs)})


@router.get(
    "/events/{refId}", operation_id="getEventByRefId", response_model=EventResponse, summary="Get event by refId"
)
def get_event(refId: str, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"event": service.get(conn, account_id=account.account_id, ref=refId)})


@router.delete(
    "/events/{refId}", operation_id="deleteEventByRefId", response_model=DeleteEventResponse, summary="Delete an event"
)
def delete_event(refId: str, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"event": service.delete(conn, account_id=account.account_id, ref=refId)})


__all__ = ["SendEventsRequest", "router"]
