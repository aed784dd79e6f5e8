"""Dashboard pages: the account overview (overview.service.figures)."""

from fastapi import APIRouter, Request, Response

from meterline.db.session import Conn
from meterline.kit.times import now_us
from meterline.overview import service
from meterline.ui.render import UiRoute, page
from meterline.ui.session import Session

router = APIRouter(route_class=UiRoute)


@router.get("/overview")
def overview(request: Request, session: Session, conn: Conn) -> Response:
    figures = service.figures(conn, account_id=session.account_id, now=now_us())
    return page(request, "overview.html", session=session, f=figures)
