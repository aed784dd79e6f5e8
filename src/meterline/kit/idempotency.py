"""The Idempotency-Key header on the POSTs that create objects or move value.

Declared once: DecimalRoute (kit.routing) adds `claim` as a dependency of every route in
IDEMPOTENT_POSTS and, after the endpoint, stores its answer in the request's transaction
(the session dependency commits after the route handler returns). A replay answers the
stored status and body with `Idempotent-Replayed: true`. Rules: meterline.idempotency.
"""

from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Header, Request, Response
from starlette.concurrency import run_in_threadpool

from meterline.db.session import Conn
from meterline.idempotency import rules, service
from meterline.kit.auth import CurrentAccount
from meterline.kit.times import now_us

IDEMPOTENT_POSTS = frozenset(
    {
        "/customers",
        "/customer-relations",
        "/meters",
        "/catalogProducts",
        "/plans",
        "/contracts",
        "/contracts/{contractId}/terminate",
        "/credits/grant",
        "/credits/deduct",
        "/measurements",
        "/webhook",
        "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
        "/webhooks/{webhookId}/test",
        "/customFields",
    }
)
REPLAYED_HEADER = "Idempotent-Replayed"
_SCOPE_KEY = "meterline.idempotency"


@dataclass(frozen=True, slots=True)
class _Claim:
    conn: sa.Connection
    account_id: str
    key: str


class Replayed(Exception):
    """Raised by `claim` to answer a stored answer instead of running the endpoint."""

    def __init__(self, answer: service.StoredAnswer) -> None:
        super().__init__("replayed")
        self.answer = answer

    def response(self) -> Response:
        return Response(
            self.answer.body,
            status_code=self.answer.status,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )


async def claim(
    request: Request,
    conn: Conn,
    account: CurrentAccount,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=rules.HEADER,
            description="Optional, 1-255 printable characters: the same key and request within 24 h "
            "answer the first answer again (header Idempotent-Replayed: true); another request "
            "with the key is 400 idempotency_key_reused.",
        ),
    ] = None,
) -> None:
    if idempotency_key is None:
        return
    key = rules.check_key(idempotency_key)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    digest = rules.request_hash(request.method, target, await request.body())
    answer = await run_in_threadpool(
        service.begin, conn, account_id=account.account_id, key=key, request_hash=digest, now=now_us()
    )
    if answer is not None:
        raise Replayed(answer)
    request.scope[_SCOPE_KEY] = _Claim(conn, account.account_id, key)


async def finish(request: Request, response: Response) -> None:
    """After the endpoint, inside its transaction: store the answer of a claimed key."""
    held = request.scope.pop(_SCOPE_KEY, None)
    if held is not None:
        await run_in_threadpool(
            service.finish,
            held.conn,
            account_id=held.account_id,
            key=held.key,
            status=response.status_code,
            body=bytes(response.body),
        )
