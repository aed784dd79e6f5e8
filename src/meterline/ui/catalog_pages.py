"""Dashboard pages: meters (definitions and rebuild state) and catalog products.

The figures are the answers of `GET /meters`, `GET /meters/{id}` (with its `rebuild`
extension, meters.rebuilds) and `GET /catalogProducts`: the same service calls.
"""

from fastapi import APIRouter, Request, Response

from meterline.catalog import service as catalog_service
from meterline.db.session import Conn
from meterline.meters import service as meter_service
from meterline.ui.paging import page_of
from meterline.ui.render import UiRoute, page
from meterline.ui.session import Session

router = APIRouter(route_class=UiRoute)


@router.get("/meters")
def meters(
    request: Request,
    session: Session,
    conn: Conn,
    cursor: str | None = None,
    pcursor: str | None = None,
    limit: str | None = None,
) -> Response:
    account_id = session.account_id
    meter_page = meter_service.list_page(conn, account_id=account_id, page=page_of(cursor, limit))
    products = catalog_service.list_page(conn, account_id=account_id, page=page_of(pcursor, limit))
    return page(
        request,
        "meters.html",
        session=session,
        meters=meter_page.body("meters"),
        products=products.body("catalogProducts"),
    )


@router.get("/meters/{meterId}")
def meter(request: Request, session: Session, conn: Conn, meterId: str) -> Response:
    found = meter_service.get(conn, account_id=session.account_id, meter_id=meterId.lower())
    return page(request, "meter.html", session=session, meter=found)
