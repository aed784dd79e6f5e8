"""One pure-ASGI middleware: a request id on every answer, request body size limits, and
the last word on unexpected exceptions, and each request's access-log line and metrics.

Bodies are capped before any parsing (256 KiB for event ingestion, as Vayu documents,
1 MiB elsewhere): the Content-Length is checked first, then the bytes actually read.

A body must arrive in full within `body_timeout` seconds of the request's start
(METERLINE_BODY_TIMEOUT_SECONDS): else 408 `request_timeout` with `Connection: close`, and
the connection is freed. A client that goes away mid-body is logged in one line.

An exception no handler took becomes the seed's 500 here, and is not re-raised: Starlette's
ServerErrorMiddleware would send the same answer and then re-raise, and the server then
drops the keep-alive connection without `Connection: close` (the client's next request on
it is reset). Answered here, the connection stays usable.

The request id is the client's `X-Request-Id` when it is 1-64 characters of
[A-Za-z0-9._-], else a fresh one; it is answered in `X-Request-Id` and bound (structlog
contextvars) to every line logged while the request is served.
"""

import asyncio
import logging
import os
import random
import re
import time
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meterline.kit import jsonenc, metrics
from meterline.kit.errors import InternalError
from meterline.logs import write_line

_SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
log = structlog.get_logger("meterline.errors")
ACCESS_LOGGER = "meterline.access"

EVENTS_MAX_BYTES = 256 * 1024
DEFAULT_MAX_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit // 1024} KiB.")


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request body did not arrive within {seconds:g} s.", headers={"Connection": "close"})


def body_limit(path: str) -> int:
    if path.startswith(("/events", "/v2/events")):
        return EVENTS_MAX_BYTES
    return DEFAULT_MAX_BYTES


def route_of(scope: Scope) -> str:
    """The matched route's template (`/customers/{customerId}`), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or metrics.UNMATCHED


class RequestContext:
    def __init__(
        self, app: ASGIApp, *, body_timeout: float = 60.0, access_log: bool = True, access_log_sample: float = 1.0
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        enabled = access_log and logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO)
        self.log_sample = access_log_sample if enabled else 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = None
        limit = body_limit(scope.get("path", ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    scope["meterline.body_too_large"] = limit
            elif name == b"x-request-id" and _SAFE_ID.fullmatch(value):
                rid = value.decode()
        rid = rid or os.urandom(12).hex()
        scope["meterline.request_id"] = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        status = 500
        seen = 0
        body_done = False
        gone = False
        deadline = asyncio.get_running_loop().time() + self.body_timeout

        async def limited_receive() -> Message:
            nonlocal seen, body_done, gone
            if "meterline.body_too_large" in scope:
                raise BodyTooLarge(limit)
            if body_done:  # after the body only http.disconnect comes, whenever it comes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                log.info("request_body_timeout", path=scope.get("path", ""), received_bytes=seen)
                raise BodyTimeout(self.body_timeout) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
                body_done = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                body_done = gone = True
                log.info("client_disconnected_mid_body", path=scope.get("path", ""), received_bytes=seen)
            return message

        header = (b"x-request-id", rid.encode())
        started = False

        recorded = False

        def record() -> None:
            # Before the answer's last bytes go out: a client that has its answer can count
            # on the request being in /metrics and in the log.
            nonlocal recorded
            recorded = True
            seconds = time.perf_counter() - start
            route = route_of(scope)
            metrics.request_done(scope["method"], route, status, seconds)
            if self.log_sample >= 1.0 or (self.log_sample > 0.0 and random.random() < self.log_sample):
                fields = {
                    "method": scope["method"],
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "account_id": scope.get("meterline.account_id"),
                }
                write_line(ACCESS_LOGGER, "request", fields)

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                if not any(h[0].lower() == b"x-request-id" for h in headers):
                    headers.append(header)
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body") and not recorded:
                record()
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            if gone:  # nobody to answer, and already logged in one line
                return
            if started:  # the answer is half sent: only dropping the connection can say so
                raise
            log.error("unhandled_error", path=scope.get("path", ""), exc_info=exc)
            await send_internal_error(send_with_id, rid)
        finally:
            if not recorded:  # no complete answer (the client left, or nothing was sent)
                record()
            structlog.contextvars.clear_contextvars()


async def send_internal_error(send: Send, rid: str) -> None:
    """The seed's 500 (`api_error` / `internal_error`), naming the request id only."""
    body = jsonenc.dumps(InternalError(f"Internal server error (request id {rid}).").body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
