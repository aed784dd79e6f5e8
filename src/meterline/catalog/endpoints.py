"""HTTP only: catalog products in Vayu's shapes."""

from typing import Annotated

from fastapi import Depends

from meterline.catalog import service
from meterline.catalog.schemas import (
    CatalogProductCreate,
    CatalogProductResponse,
    CatalogProductUpdate,
    DeleteCatalogProductResponse,
    ListCatalogProductsResponse,
)
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok

router = make_router(tags=["catalog-products"])

ProductId = PathId


@router.post(
    "/catalogProducts",
    operation_id="createCatalogProduct",
    responses=errors(404),
    response_model=CatalogProductResponse,
    summary="Create Catalog product",
)
def create_product(body: CatalogProductCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"catalogProduct": service.create(conn, account_id=account.account_id, data=body)})


@router.get(
    "/catalogProducts",
    operation_id="listCatalogProducts",
    response_model=ListCatalogProductsResponse,
    summary="List Catalog products",
)
def list_products(conn: Conn, account: CurrentAccount, page: Annotated[PageRequest, Depends(page_request)]) -> JSONResp:
    return ok(service.list_page(conn, account_id=account.account_id, page=page).body("catalogProducts"))


@router.get(
    "/catalogProducts/{catalogProductId}",
    operation_id="getCatalogProduct",
    response_model=CatalogProductResponse,
    summary="Get Catalog product",
)
def get_product(catalogProductId: ProductId, conn: Conn, account: CurrentAccount) -> JSONResp:
    product = service.get(conn, account_id=account.account_id, product_id=catalogProductId.lower())
    return ok({"catalogProduct": product})


@router.put(
    "/catalogProducts/{catalogProductId}",
    operation_id="updateCatalogProduct",
    response_model=CatalogProductResponse,
    summary="Update Catalog product",
)
def update_product(
    catalogProductId: ProductId, body: CatalogProductUpdate, conn: Conn, account: CurrentAccount
) -> JSONResp:
    product = service.update(conn, account_id=account.account_id, product_id=catalogProductId.lower(), data=body)
    return ok({"catalogProduct": product})


@router.delete(
    "/catalogProducts/{catalogProductId}",
    operation_id="deleteCatalogProduct",
    response_model=DeleteCatalogProductResponse,
    summary="Delete Catalog product",
)
def delete_product(catalogProductId: ProductId, conn: Conn, account: CurrentAccount) -> JSONResp:
    product = service.delete(conn, account_id=account.account_id, product_id=catalogProductId.lower())
    return ok({"catalogProduct": product})
