"""HTTP only: products consumptions (the seed's endpoint), on the one-hop read path."""

from typing import Annotated

from fastapi import Query, Request

from meterline.consumption import cache, service
from meterline.consumption.schemas import ProductConsumptionResponse, ProductsConsumptionsResponse
from meterline.db.session import run_db, run_read
from meterline.kit.auth import CurrentAccount
from meterline.kit.errors import BadRequest
from meterline.kit.ids import ID_PATTERN
from meterline.kit.routing import JSONResp, PathId, make_router, ok
from meterline.kit.times import now_us, parse_instant, to_us

router = make_router(tags=["customers"])

Id = PathId
At = Annotated[str | None, Query(description="answer as of this ISO 8601 instant (Meterline extension; default now)")]


def _at(at: str | None) -> int:
    if at is None:
        return now_us()
    return to_us(parse_instant(at, param="at"))


@router.get(
    "/customers/products-consumptions/{customerId}",
    operation_id="getCustomerProductsConsumptions",
    response_model=ProductsConsumptionsResponse,
    summary="Get products consumptions by customer id",
)
async def by_customer(request: Request, customerId: Id, account: CurrentAccount, at: At = None) -> JSONResp:
    at_us, customer_id = _at(at), customerId.lower()
    entries = await run_db(
        request,
        lambda db: cache.for_customer(
            db, account_id=account.account_id, customer_id=customer_id, at_us=at_us, now=at is None
        ),
        small=True,
    )
    return ok({"productsConsumptions": entries})


@router.get(
    "/customers/products-consumptions/alias/{alias}",
    operation_id="getCustomerProductsConsumptionsByAlias",
    response_model=ProductsConsumptionsResponse,
    summary="Get products consumptions by customer alias",
)
async def by_alias(request: Request, alias: str, account: CurrentAccount, at: At = None) -> JSONResp:
    at_us = _at(at)
    entries = await run_db(
        request,
        lambda db: cache.for_alias(db, account_id=account.account_id, alias=alias, at_us=at_us, now=at is None),
        small=True,
    )
    return ok({"productsConsumptions": entries})


@router.get(
    "/product-consumption/{productId}",
    operation_id="getProductConsumption",
    response_model=ProductConsumptionResponse,
    summary="Get product consumption",
    tags=["product-consumptions"],
)
async def by_product(
    request: Request,
    productId: Id,
    account: CurrentAccount,
    customerId: Annotated[str | None, Query(pattern=ID_PATTERN, description="one customer's entry")] = None,
    alias: Annotated[str | None, Query(description="one customer's entry, by alias")] = None,
    at: At = None,
) -> JSONResp:
    if customerId is not None and alias is not None:
        raise BadRequest("Give customerId or alias, not both.", param="alias", code="parameter_invalid")
    at_us, product_id = _at(at), productId.lower()
    customer_id = customerId.lower() if customerId else None
    entry = await run_read(
        request,
        lambda conn: service.for_product(
            conn,
            account_id=account.account_id,
            product_id=product_id,
            customer_id=customer_id,
            alias=alias,
            at_us=at_us,
        ),
        small=customer_id is not None or alias is not None,
    )
    return ok({"productConsumption": entry})
