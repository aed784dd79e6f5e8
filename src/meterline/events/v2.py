"""Vayu's /v2/events paths (the official client's `v2_*` calls): the same contract as /events.

The v2 send, dry-run, query, get, delete and delete-by-refs calls carry the same bodies
and answers as v1 in vayu-py 0.3.11, so they are served by the v1 handlers.
`POST /v2/events/aggregation` (usage over time) lives in the aggregation domain.
"""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from meterline.events import endpoints as v1
from meterline.events.schemas import (
    DeleteEventResponse,
    DeleteEventsByRefsResponse,
    DryRunResponse,
    EventResponse,
    QueryEventsResponse,
    SendEventsResponse,
)
from meterline.kit.routing import make_router

router = make_router(tags=["events v2"])

_ROUTES: list[tuple[str, str, Callable[..., Any], str, type[BaseModel], dict[str, Any] | None]] = [
    ("/v2/events", "POST", v1.send_events, "v2SendEvents", SendEventsResponse, v1._BODY_DOC),
    ("/v2/events/dry-run", "POST", v1.dry_run, "v2SendEventsDryRun", DryRunResponse, v1._BODY_DOC),
    ("/v2/events", "GET", v1.query_events, "v2QueryEvents", QueryEventsResponse, None),
    ("/v2/events/delete-by-refs", "POST", v1.delete_by_refs, "v2DeleteEventsByRefs", DeleteEventsByRefsResponse, None),
    ("/v2/events/{refId}", "GET", v1.get_event, "v2GetEventByRefId", EventResponse, None),
    ("/v2/events/{refId}", "DELETE", v1.delete_event, "v2DeleteEventByRefId", DeleteEventResponse, None),
]

for path, method, handler, operation_id, response_model, extra in _ROUTES:
    router.add_api_route(
        path, handler, methods=[method], operation_id=operation_id, response_model=response_model, openapi_extra=extra
    )
