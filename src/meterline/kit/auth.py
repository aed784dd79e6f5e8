"""The auth dependency: Bearer JWT, key not revoked, then the account's rate limit."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from meterline.kit.errors import Unauthorized
from meterline.kit.ratelimit import Limiter, enforce


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: str
    key_id: str


@dataclass
class AuthState:
    verify_token: Callable[[str], Principal]  # raises Unauthorized
    key_is_active: Callable[[str, str], bool]  # (key id, account id)
    limiter: Limiter


_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT", scheme_name="BearerAuthorizer")


async def _principal(request: Request, _doc: object = Depends(_bearer)) -> Principal:
    # async: no thread hop on every request. key_is_active is an in-memory cache that
    # reads the database at most once per key per few seconds.
    state: AuthState = request.app.state.auth
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing or malformed Authorization header; expected 'Bearer <token>'.")
    principal = state.verify_token(token.strip())
    if not state.key_is_active(principal.key_id, principal.account_id):
        raise Unauthorized("The API key behind this token is revoked or not this account's.")
    request.scope["meterline.account_id"] = principal.account_id  # for the access log line
    structlog.contextvars.bind_contextvars(account_id=principal.account_id)
    await enforce(state.limiter, principal.account_id)
    return principal


CurrentAccount = Annotated[Principal, Depends(_principal)]
