"""Routers whose JSON bodies keep decimals exact, and responses written by kit.jsonenc."""

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from meterline.kit import idempotency, jsonenc
from meterline.kit.ids import ID_PATTERN


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = jsonenc.loads(body)
            except jsonenc.JSONDecodeError as exc:
                # FastAPI turns json.JSONDecodeError into a RequestValidationError (-> our 400).
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace")[:64], 0) from None
        return self._json


class DecimalRoute(APIRoute):
    """JSON bodies with exact decimals; the POSTs of kit.idempotency take an Idempotency-Key."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.idempotent = path in idempotency.IDEMPOTENT_POSTS and "POST" in (kwargs.get("methods") or ())
        if self.idempotent:
            deps = list(kwargs.get("dependencies") or ())
            if not any(d.dependency is idempotency.claim for d in deps):
                deps.append(Depends(idempotency.claim))
            kwargs["dependencies"] = deps
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.idempotent:

            async def route_handler(request: Request) -> Response:
                return await handler(DecimalJSONRequest(request.scope, request.receive))

            return route_handler

        async def idempotent_handler(request: Request) -> Response:
            # The session dependency commits after this returns: the answer is stored in
            # the same transaction as the write.
            decimal_request = DecimalJSONRequest(request.scope, request.receive)
            try:
                response = await handler(decimal_request)
            except idempotency.Replayed as replay:
                return replay.response()
            await idempotency.finish(decimal_request, response)
            return response

        return idempotent_handler


class JSONResp(JSONResponse):
    """A JSONResponse (so the OpenAPI document shows the route's response_model) encoded
    by kit.jsonenc: exact decimals, orjson speed."""

    def render(self, content: Any) -> bytes:
        return jsonenc.dumps(content)


def ok(body: Any) -> JSONResp:
    return JSONResp(body)


def make_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=DecimalRoute, default_response_class=JSONResp, **kwargs)


# A server-issued id in a path: 24 hex characters, else 400 parameter_invalid naming it.
PathId = Annotated[str, Path(pattern=ID_PATTERN, description="24 hex characters")]
