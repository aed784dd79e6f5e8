"""One error base class; the handler in kit.handlers renders it in the seed's shapes."""

from typing import Any


class ApiError(Exception):
    status = 500
    type = "api_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        params: list[dict[str, str]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.params = params
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            out["param"] = self.param
        if self.params:
            out["params"] = self.params
        return out


class BadRequest(ApiError):
    """400. code is one of parameter_missing, parameter_invalid, validation_failed, bad_request."""

    status = 400
    type = "invalid_request_error"
    code = "validation_failed"


class InvalidParameter(BadRequest):
    code = "parameter_invalid"


class Unauthorized(ApiError):
    status = 401
    type = "authentication_error"
    code = "authentication_failed"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "resource_not_found"


class Conflict(ApiError):
    status = 409
    type = "invalid_request_error"
    code = "resource_already_exists"


class TooLarge(ApiError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RequestTimeout(ApiError):
    status = 408
    type = "invalid_request_error"
    code = "request_timeout"


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class Unavailable(ApiError):
    """503: the server cannot serve yet (readiness); the message gives the reason."""

    status = 503
    type = "api_error"
    code = "service_unavailable"


class InternalError(ApiError):
    status = 500
    type = "api_error"
    code = "internal_error"
