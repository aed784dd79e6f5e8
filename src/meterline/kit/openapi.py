"""The served OpenAPI document (/openapi.json), true to what the server answers.

FastAPI builds the document from the routes; `install(app)` completes it once, on first use:

- **200**: each route declares `response_model=<pydantic model of its answer>`. Handlers
  return a `JSONResp` (kit.routing), and FastAPI passes a returned Response through as is,
  so the model documents the answer without validating or re-encoding it (no cost on the
  ingestion and consumption paths).
- **Errors**, in the seed's shapes (one component each, `ERROR_MODELS`), added by route kind:
  400 when the operation takes parameters or a body; 401 and 429 when it needs a token;
  404 when its path holds a parameter; 413 when it takes a body; 500 always. An answer a
  route gives beyond its kind (a 404 for a resource named in the body, a 409) it declares
  itself: `@router.post(..., responses=errors(404, 409))`.
- **No 422**: FastAPI's `HTTPValidationError` answer is removed (kit.handlers turns every
  validation failure into a 400 `ValidationErrorResponse`).
- A body read by hand (ingestion, for speed) is documented with `openapi_extra=json_body(Model)`,
  which also puts Model (and what it references) into the components.

tests/test_openapi.py fails for an operation whose 200 is untyped or which declares 422.
"""

from http import HTTPStatus
from typing import Any, Literal, TypeAlias

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from meterline.kit.errors import (
    ApiError,
    BadRequest,
    Conflict,
    InternalError,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
)

REF = "#/components/schemas/"
# An optional text field: absent when unset, never null (so no null in its schema).
OptionalText: TypeAlias = str | SkipJsonSchema[None]


def _enum(value: str) -> Any:
    return Field(json_schema_extra={"enum": [value]})


def _no_defaults(schema: dict[str, Any]) -> None:
    # An optional field is absent, never null: its schema has no `default: null`.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class _ErrorBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=_no_defaults)


class ParamProblem(BaseModel):
    param: str = Field(description="The parameter that failed validation")
    message: str = Field(description="Why validation failed for this parameter")


class ValidationErrorResponse(_ErrorBody):
    """400. code: parameter_missing, parameter_invalid, validation_failed or bad_request."""

    type: str = _enum(BadRequest.type)
    code: str = Field(description="Specific machine-readable error code")
    message: str = Field(description="Human-readable error explanation")
    param: OptionalText = Field(default=None, description="Single parameter that failed validation")
    params: list[ParamProblem] | SkipJsonSchema[None] = Field(
        default=None, description="Multiple parameters that failed validation"
    )


def _error_model(name: str, error: type[ApiError], param: str | None = None) -> type[BaseModel]:
    """The seed's shape of an error whose type and code are fixed (those of kit.errors)."""
    fields: dict[str, Any] = {
        "type": (str, _enum(error.type)),
        "code": (str, _enum(error.code)),
        "message": (str, Field(description="Human-readable error explanation")),
    }
    if param is not None:
        fields["param"] = (OptionalText, Field(default=None, description=param))
    return create_model(name, __base__=_ErrorBody, **fields)


UnauthorizedErrorResponse = _error_model("UnauthorizedErrorResponse", Unauthorized)
NotFoundErrorResponse = _error_model("NotFoundErrorResponse", NotFound, "The parameter naming the missing resource")
ConflictErrorResponse = _error_model("ConflictErrorResponse", Conflict)
RequestTooLongErrorResponse = _error_model("RequestTooLongErrorResponse", TooLarge)
RateLimitErrorResponse = _error_model("RateLimitErrorResponse", RateLimited)
InternalServerErrorResponse = _error_model("InternalServerErrorResponse", InternalError)

ERROR_MODELS: dict[int, type[BaseModel]] = {
    400: ValidationErrorResponse,
    401: UnauthorizedErrorResponse,
    404: NotFoundErrorResponse,
    409: ConflictErrorResponse,
    413: RequestTooLongErrorResponse,
    429: RateLimitErrorResponse,
    500: InternalServerErrorResponse,
}

# Models documented by hand (json_body), added to the components with what they reference.
_EXTRA_MODELS: dict[str, type[BaseModel]] = {}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers a route gives beyond those of its kind."""
    return {s: {"model": ERROR_MODELS[s], "description": HTTPStatus(s).phrase} for s in statuses}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra=` documenting a JSON body the handler reads itself (not validated by FastAPI)."""
    _EXTRA_MODELS[model.__name__] = model
    schema = {"$ref": REF + model.__name__}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _kind_statuses(path: str, op: dict[str, Any]) -> list[int]:
    out = []
    if op.get("parameters") or op.get("requestBody"):
        out.append(400)
    if op.get("security"):
        out += [401, 429]
    if "{" in path:
        out.append(404)
    if op.get("requestBody"):
        out.append(413)
    return [*out, 500]


def _add_schema(schemas: dict[str, Any], model: type[BaseModel], mode: Literal["validation", "serialization"]) -> None:
    schema = model.model_json_schema(ref_template=REF + "{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault(model.__name__, schema)


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Completes FastAPI's document in place (see the module docstring); returns it."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in ERROR_MODELS.values():
        _add_schema(schemas, model, "serialization")
    for model in _EXTRA_MODELS.values():
        _add_schema(schemas, model, "validation")
    for path, item in doc.get("paths", {}).items():
        for op in item.values():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            for status in _kind_statuses(path, op):
                responses.setdefault(
                    str(status),
                    {
                        "description": HTTPStatus(status).phrase,
                        "content": {"application/json": {"schema": {"$ref": REF + ERROR_MODELS[status].__name__}}},
                    },
                )
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


def install(app: FastAPI) -> None:
    """Serve the completed document at app.openapi_url (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
