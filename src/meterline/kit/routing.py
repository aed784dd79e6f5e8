"""Routers whose JSON bodies keep decimals exact, and responses written by kit.jsonenc."""

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from meterline.kit import jsonenc
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
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(DecimalJSONRequest(request.scope, request.receive))

        return route_handler


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
