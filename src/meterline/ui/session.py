"""Dashboard sign-in: the API key is exchanged for the API's own access token.

The token (auth.service.login, the same JWT `POST /login` answers) lives in an HttpOnly,
SameSite=Strict cookie scoped to /ui; every page verifies it exactly as the API verifies a
Bearer token (signature, expiry, key not revoked). Forms carry a CSRF value derived from
the token (HMAC-SHA256 with the server's JWT secret), checked on every POST.
"""

import hashlib
import hmac
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request, Response

from meterline.kit.auth import AuthState, Principal
from meterline.kit.errors import ApiError, Unauthorized

COOKIE = "meterline_ui"
PATH = "/ui"
MAX_FORM_BYTES = 1_000_000


class CsrfFailed(ApiError):
    status = 403
    type = "forbidden"
    code = "csrf_failed"


def csrf_value(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]


def sign_in(response: Response, *, token: str, ttl_seconds: int, secure: bool) -> None:
    response.set_cookie(
        COOKIE, token, max_age=ttl_seconds, path=PATH, httponly=True, samesite="strict", secure=secure
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")


class UiSession:
    """The signed-in principal and the CSRF value its forms must echo."""

    def __init__(self, principal: Principal, csrf: str) -> None:
        self.principal = principal
        self.csrf = csrf

    @property
    def account_id(self) -> str:
        return self.principal.account_id


def _session(request: Request) -> UiSession:
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise Unauthorized("Sign in with an API key.")
    state: AuthState = request.app.state.auth
    principal = state.verify_token(token)  # raises Unauthorized (bad signature, expired)
    if not state.key_is_active(principal.key_id, principal.account_id):
        raise Unauthorized("The API key behind this session is revoked.")
    return UiSession(principal, csrf_value(request.app.state.jwt_secret, token))


Session = Annotated[UiSession, Depends(_session)]


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as {name: last value}; 413 past 1 MB."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError("Form too large.")
    pairs = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in pairs.items()}


Form = Annotated[dict[str, str], Depends(_form)]


def check_csrf(session: UiSession, form: dict[str, str]) -> None:
    """Raises CsrfFailed (403) unless the form echoes the session's CSRF value."""
    if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
        raise CsrfFailed("The form expired or did not come from this dashboard; reload the page and retry.")


def check_same_origin(request: Request) -> None:
    """Raises CsrfFailed (403) for a form posted from another site: the sign-in form has no
    session to derive a CSRF value from, and a cross-site POST could otherwise sign the
    browser in to an attacker's account (login CSRF). Browsers say where a post comes from
    in Sec-Fetch-Site (authoritative, and unaffected by a proxy rewriting Host); older ones
    only in Origin, whose host must then be this request's. A request with neither (curl)
    is not a browser's cross-site post."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise CsrfFailed("Sign in from this dashboard's own sign-in page.")
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfFailed("Sign in from this dashboard's own sign-in page.")


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: only a path inside /ui (no open redirect)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/overview"
