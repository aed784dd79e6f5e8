"""Dashboard pages: the events explorer, an event's JSON, and the dry-run form.

The list is `GET /events`'s query (events.explore.browse: filters on alias, name and
[from, to), keyset pagination in creation order) with a count bounded at 10,000 (shown
as "more than 10,000"); without `from`/`to` the range is unbounded. An event is shown
by its ref (`GET /events/{refId}`) at /ui/events/by-ref?ref= (a query parameter: refs
may hold any character, "/" and "dry-run" included). The dry run is `POST /events/dry-run`'s
service call (events.service.dry_run).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from meterline.db.session import Conn
from meterline.events import explore
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.kit.errors import ApiError, BadRequest
from meterline.kit.times import parse_instant, to_us
from meterline.ui.paging import page_of
from meterline.ui.render import UiRoute, page
from meterline.ui.session import Form, Session, check_csrf

router = APIRouter(route_class=UiRoute)

# The bounds of an open time range, in µs (the events' `ts` is a 64-bit integer).
EARLIEST, LATEST = -(2**62), 2**62


def _bound(text: str | None, param: str, default: int) -> int:
    return to_us(parse_instant(text, param=param)) if text else default


@router.get("/events")
def events(
    request: Request,
    session: Session,
    conn: Conn,
    alias: str | None = None,
    name: str | None = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    cursor: str | None = None,
    limit: str | None = None,
) -> Response:
    try:
        listing = explore.browse(
            conn,
            account_id=session.account_id,
            start_us=_bound(start, "from", EARLIEST),
            end_us=_bound(end, "to", LATEST),
            name=name or None,
            alias=alias or None,
            page=page_of(cursor, limit),
        )
    except BadRequest as err:  # a filter the user typed: say so beside the form
        return page(request, "events.html", status=400, session=session, listing=None, error=err.message)
    return page(request, "events.html", session=session, listing=listing, error=None)


@router.get("/events/by-ref")
def event(request: Request, session: Session, conn: Conn, ref: str) -> Response:
    found = events_service.get(conn, account_id=session.account_id, ref=ref)
    return page(request, "event.html", session=session, event=found)


@router.get("/events/dry-run")
def dry_run_form(request: Request, session: Session) -> Response:
    return page(request, "dry_run.html", session=session, text="", result=None, error=None)


def _events_of(text: str) -> Any:
    """The pasted JSON: `{"events": [...]}` as the API takes it, or the array alone."""
    try:
        doc = jsonenc.loads(text)
    except jsonenc.JSONDecodeError:
        raise BadRequest('That is not valid JSON: paste {"events": [...]} or an array of events.') from None
    if isinstance(doc, dict):
        if "events" not in doc:
            raise BadRequest("The JSON object has no `events` array.")
        return doc["events"]
    return doc


@router.post("/events/dry-run")
def dry_run(request: Request, session: Session, conn: Conn, form: Form) -> Response:
    check_csrf(session, form)
    text = form.get("events", "")
    try:
        result = events_service.dry_run(conn, account_id=session.account_id, events=_events_of(text))
    except ApiError as err:  # bad JSON or a bad event: the message beside the form, never a 500
        return page(request, "dry_run.html", status=err.status, session=session, text=text, result=None, error=err)
    return page(request, "dry_run.html", session=session, text=text, result=result, error=None)
