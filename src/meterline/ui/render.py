"""Templates, filters and the UI's route class (HTML errors, sign-in redirects, headers).

Figures are written exactly as the API writes them: `num` is the API's decimal text
(kit.jsonenc.decimal_text), `instant` the API's ISO-8601 UTC text (kit.times).
"""

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from meterline.kit import jsonenc
from meterline.kit.errors import ApiError, Unauthorized
from meterline.kit.jsonenc import decimal_text
from meterline.kit.times import iso, iso_us

# No asset or request may leave for another host: the browser enforces it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def num(value: Any) -> str:
    """A decimal as the API writes it (no exponent, no trailing zeros); '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def instant(value: Any) -> str:
    """An instant as the API writes it: microseconds since the epoch, a datetime, or API text."""
    if value is None or value == "":
        return ""
    if isinstance(value, int):
        return iso_us(value)
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def pretty(value: Any) -> str:
    """JSON indented for reading, decimals exact (kit.jsonenc's encoding)."""
    return jsonenc.dumps_indented(value)


def billing(status: str) -> str:
    """An invoice's billingStatus as the API writes it; the open cycle's draft ("None")
    also says what it is."""
    return "None (draft: the cycle is open)" if status == "None" else status


def query(base: Mapping[str, Any], **changes: Any) -> str:
    """'?a=1&b=2' from the current filters with `changes` applied (None drops a key)."""
    merged = {k: v for k, v in {**base, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("meterline.ui", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(num=num, instant=instant, urlquote=lambda s: quote(str(s), safe=""), pretty=pretty, billing=billing)
_env.globals.update(query=query)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the request, its query and the session's CSRF value."""
    session = context.pop("session", None)
    html = _env.get_template(template).render(
        request=request,
        params=dict(request.query_params),
        session=session,
        csrf=session.csrf if session is not None else "",
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _sign_in_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/ui/sign-in?" + urlencode({"next": here})


class UiRoute(APIRoute):
    """Errors become HTML pages; an unauthenticated request goes to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except Unauthorized as err:
                if request.method == "GET":
                    response = redirect(_sign_in_url(request))
                else:
                    response = page(request, "error.html", status=401, error=err)
            except ApiError as err:
                response = page(request, "error.html", status=err.status, error=err)
            except RequestValidationError:
                err400 = ApiError("A filter or form field is not valid; check the values and retry.")
                response = page(request, "error.html", status=400, error=err400)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return run
