"""Every error leaves in the seed's shapes; nothing internal (trace, SQL) is ever shown."""

from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from meterline.kit.errors import ApiError, BadRequest, InternalError, NotFound, RequestTimeout, TooLarge
from meterline.kit.routing import JSONResp

log = structlog.get_logger("meterline.errors")

REQUEST_ID_HEADER = "X-Request-Id"


def _render(err: ApiError, request: Request) -> JSONResp:
    headers = dict(err.headers)
    rid = request.scope.get("meterline.request_id")
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    return JSONResp(err.body(), status_code=err.status, headers=headers)


def _param_name(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "body"


def validation_to_error(exc: RequestValidationError) -> BadRequest:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.", code="bad_request")
    params = []
    for e in errors[:50]:
        msg = str(e.get("msg", "invalid"))
        ctx = e.get("ctx") or {}
        if e.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif ctx.get("error") and "Value error" in msg:
            msg = str(ctx["error"])
        params.append({"param": _param_name(tuple(e.get("loc", ()))), "message": msg})
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "missing":
        code = "parameter_missing"
        if loc == ("body",):
            return BadRequest("A JSON request body is required.", code="parameter_missing", param="body")
    elif loc[:1] in (("path",), ("query",)):
        code = "parameter_invalid"
    else:
        code = "validation_failed"
    lead = params[0] if params else {"param": "body", "message": "invalid"}
    return BadRequest(f"{lead['param']}: {lead['message']}", code=code, param=lead["param"], params=params)


def install(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResp:
        assert isinstance(exc, ApiError)
        return _render(exc, request)

    async def request_validation(request: Request, exc: Exception) -> JSONResp:
        assert isinstance(exc, RequestValidationError)
        return _render(validation_to_error(exc), request)

    async def http_error(request: Request, exc: Exception) -> JSONResp:
        assert isinstance(exc, StarletteHTTPException)
        err: ApiError
        if exc.status_code == 404:
            err = NotFound(f"No route for {request.method} {request.url.path}.")
        elif exc.status_code == 413:
            err = TooLarge(str(exc.detail))
        elif exc.status_code == 408:
            err = RequestTimeout(str(exc.detail))
        elif exc.status_code == 405:
            err = BadRequest(f"Method {request.method} is not allowed here.", code="bad_request")
            err.status = 405
        elif exc.status_code < 500:
            err = BadRequest(str(exc.detail), code="bad_request")
            err.status = exc.status_code
        else:
            err = InternalError("Internal server error.")
        err.headers.update(dict(exc.headers or {}))
        return _render(err, request)

    async def unexpected(request: Request, exc: Exception) -> JSONResp:
        rid = request.scope.get("meterline.request_id", "-")
        log.error("unhandled_error", request_id=rid, path=request.url.path, exc_info=exc)
        return _render(InternalError(f"Internal server error (request id {rid})."), request)

    async def data_error(request: Request, exc: Exception) -> JSONResp:
        if isinstance(exc, sa.exc.DataError) and "NUL (0x00)" in str(exc.orig):
            # PostgreSQL text cannot hold U+0000 (SQLite can): the client's text, not our fault.
            return _render(BadRequest("Text must not contain the NUL character (U+0000).", code="bad_request"), request)
        return await unexpected(request, exc)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(sa.exc.DataError, data_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
