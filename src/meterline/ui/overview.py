"""Dashboard pages: the account overview (overview.service.figures)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from meterline.db.engine import Database, transaction
from meterline.db.session import get_db
from meterline.kit.times import now_us
from meterline.overview import service
from meterline.ui.render import UiRoute, page
from meterline.ui.session import Session

router = APIRouter(route_class=UiRoute)


@router.get("/overview")
def overview(request: Request, session: Session, db: Annotated[Database, Depends(get_db)]) -> Response:
    now = now_us()
    # Ended cycles are issued first, as GET /invoices does (so the invoices due and overdue
    # are the figures the API would answer now): a write transaction, then the read.
    with transaction(db) as conn:
        service.issue_ended_cycles(conn, account_id=session.account_id, now=now, settings=request.app.state.settings)
    with transaction(db, write=False) as conn:
        figures = service.figures(conn, account_id=session.account_id, now=now)
    return page(request, "overview.html", session=session, f=figures)
