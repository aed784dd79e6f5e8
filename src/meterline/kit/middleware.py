"""One pure-ASGI middleware: a request id on every answer, and request body size limits.

Bodies are capped before any parsing (256 KiB for event ingestion, as Vayu documents,
1 MiB elsewhere): the Content-Length is checked first, then the bytes actually read.
"""

import os
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS_MAX_BYTES = 256 * 1024
DEFAULT_MAX_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit // 1024} KiB.")


def body_limit(path: str) -> int:
    if path.startswith(("/events", "/v2/events")):
        return EVENTS_MAX_BYTES
    return DEFAULT_MAX_BYTES


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = os.urandom(12).hex()
        scope["meterline.request_id"] = rid
        limit = body_limit(scope.get("path", ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    scope["meterline.body_too_large"] = limit
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            if "meterline.body_too_large" in scope:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                if not any(h[0].lower() == b"x-request-id" for h in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, limited_receive, send_with_id)
