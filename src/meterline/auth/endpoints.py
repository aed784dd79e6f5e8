from fastapi import Request

from meterline.auth import service
from meterline.auth.schemas import LoginRequest, LoginResponse
from meterline.db.session import Conn
from meterline.kit.openapi import errors
from meterline.kit.routing import JSONResp, make_router, ok

router = make_router(tags=["auth"])


@router.post(
    "/login",
    operation_id="login",
    response_model=LoginResponse,
    summary="Login by obtaining a new access token",
    responses=errors(401),
)
def login(body: LoginRequest, conn: Conn, request: Request) -> JSONResp:
    token = service.login(
        conn,
        refresh_token=body.refreshToken,
        secret=request.app.state.jwt_secret,
        ttl_seconds=request.app.state.settings.token_ttl_seconds,
    )
    return ok({"accessToken": token})
