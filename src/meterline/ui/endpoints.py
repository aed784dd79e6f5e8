"""HTTP only: the dashboard's router (/ui), its static files and the sign-in pages.

Every page lives in one module per area (overview, customers, invoices, catalog, events,
webhooks); each exports `router`, included here. None of it is in the OpenAPI document.
"""

from importlib import import_module
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.staticfiles import StaticFiles

from meterline.auth import service as auth_service
from meterline.db.session import Conn
from meterline.kit.errors import NotFound, Unauthorized
from meterline.ui import session as ui_session
from meterline.ui.render import UiRoute, page, redirect

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)

_static = StaticFiles(directory=str(files("meterline.ui") / "static"))

# Page modules, one per area of the dashboard.
PAGES = ("overview", "customer_pages", "invoice_pages", "catalog_pages", "event_pages", "webhook_pages")


@router.get("/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    # StaticFiles resolves inside its directory only (no traversal) and answers ETag/304.
    response = await _static.get_response(path, request.scope)
    if response.status_code == 404:
        raise NotFound("No such file.")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@router.get("")
@router.get("/")
def home() -> Response:
    return redirect("/ui/overview")


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return page(request, "sign_in.html", next=ui_session.safe_next(next), error=None)


@router.post("/sign-in")
def sign_in(request: Request, conn: Conn, form: ui_session.Form) -> Response:
    ui_session.check_same_origin(request)
    target = ui_session.safe_next(form.get("next"))
    key = form.get("key", "").strip()
    settings = request.app.state.settings
    try:
        token = auth_service.login(
            conn, refresh_token=key, secret=request.app.state.jwt_secret, ttl_seconds=settings.token_ttl_seconds
        )
    except Unauthorized:
        return page(request, "sign_in.html", status=401, next=target, error="That API key is not valid.")
    response = redirect(target)
    ui_session.sign_in(
        response, token=token, ttl_seconds=settings.token_ttl_seconds, secure=request.url.scheme == "https"
    )
    return response


@router.post("/sign-out")
def sign_out(session: ui_session.Session, form: ui_session.Form) -> Response:
    ui_session.check_csrf(session, form)
    response = redirect("/ui/sign-in")
    ui_session.sign_out(response)
    return response


for _name in PAGES:
    router.include_router(import_module(f"meterline.ui.{_name}").router)
