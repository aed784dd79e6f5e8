"""Dashboard pages: the account overview."""

from fastapi import APIRouter, Request, Response

from meterline.ui.render import UiRoute, page
from meterline.ui.session import Session

router = APIRouter(route_class=UiRoute)


@router.get("/overview")
def overview(request: Request, session: Session) -> Response:
    return page(request, "overview.html", session=session)
