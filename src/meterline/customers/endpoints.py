"""HTTP only: parse, call the service, answer in Vayu's shapes."""

from typing import Annotated

from fastapi import Depends

from meterline.customers import relations, service
from meterline.customers.schemas import (
    CustomerCreate,
    CustomerRelationCreate,
    CustomerRelationResponse,
    CustomerResponse,
    CustomerUpdate,
    DeleteCustomerResponse,
    IntegrationType,
    ListCustomersResponse,
)
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok

router = make_router(tags=["customers"])

CustomerId = PathId


@router.post(
    "/customers",
    operation_id="createCustomer",
    responses=errors(409),
    response_model=CustomerResponse,
    summary="Create Customer",
)
def create_customer(body: CustomerCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customer": service.create(conn, account_id=account.account_id, data=body)})


@router.get("/customers", operation_id="listCustomers", response_model=ListCustomersResponse, summary="List Customers")
def list_customers(
    conn: Conn, account: CurrentAccount, page: Annotated[PageRequest, Depends(page_request)]
) -> JSONResp:
    return ok(service.list_page(conn, account_id=account.account_id, page=page).body("customers"))


@router.get(
    "/customers/externalId/{externalId}",
    operation_id="getCustomerByExternalId",
    response_model=CustomerResponse,
    summary="Get customer by externalId",
)
def get_by_external_id(externalId: str, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customer": service.get_by_external_id(conn, account_id=account.account_id, external_id=externalId)})


@router.get(
    "/customers/name/{name}",
    operation_id="getCustomerByName",
    response_model=CustomerResponse,
    summary="Get customer by name",
)
def get_by_name(name: str, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customer": service.get_by_name(conn, account_id=account.account_id, name=name)})


@router.get(
    "/customers/{customerId}", operation_id="getCustomer", response_model=CustomerResponse, summary="Get Customer"
)
def get_customer(customerId: CustomerId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customer": service.get(conn, account_id=account.account_id, customer_id=customerId.lower())})


@router.put(
    "/customers/{customerId}",
    operation_id="updateCustomer",
    responses=errors(409),
    response_model=CustomerResponse,
    summary="Update Customer",
)
def update_customer(customerId: CustomerId, body: CustomerUpdate, conn: Conn, account: CurrentAccount) -> JSONResp:
    customer = service.update(conn, account_id=account.account_id, customer_id=customerId.lower(), data=body)
    return ok({"customer": customer})


@router.delete(
    "/customers/{customerId}",
    operation_id="deleteCustomer",
    response_model=DeleteCustomerResponse,
    summary="Delete Customer",
)
def delete_customer(customerId: CustomerId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customer": service.delete(conn, account_id=account.account_id, customer_id=customerId.lower())})


@router.get(
    "/customers/integration/{integrationType}/{integrationId}",
    operation_id="getCustomerByIntegrationId",
    response_model=CustomerResponse,
    summary="Get customer by integration id",
)
def get_by_integration(
    integrationType: IntegrationType,
    integrationId: str,
    conn: Conn,
    account: CurrentAccount,
) -> JSONResp:
    customer = relations.get_by_integration(
        conn, account_id=account.account_id, integration_type=integrationType.value, integration_id=integrationId
    )
    return ok({"customer": customer})


@router.post(
    "/customer-relations",
    operation_id="createCustomerRelation",
    responses=errors(404, 409),
    response_model=CustomerRelationResponse,
    summary="Create Customer relation",
)
def create_relation(body: CustomerRelationCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    relation = relations.create(
        conn,
        account_id=account.account_id,
        parent_id=body.vayuParentCustomerId.lower(),
        child_id=body.vayuChildCustomerId.lower(),
    )
    return ok({"customerRelation": relation})


@router.get(
    "/customer-relations/{customerRelationId}",
    operation_id="getCustomerRelation",
    response_model=CustomerRelationResponse,
    summary="Get Customer relation",
)
def get_relation(
    customerRelationId: PathId,
    conn: Conn,
    account: CurrentAccount,
) -> JSONResp:
    relation = relations.get(conn, account_id=account.account_id, relation_id=customerRelationId.lower())
    return ok({"customerRelation": relation})
