"""HTTP only: contracts in Vayu's shapes, plus POST /contracts/{id}/terminate."""

from typing import Annotated

from fastapi import Depends, Query

from meterline.contracts import service
from meterline.contracts.schemas import (
    ContractCreate,
    ContractResponse,
    ContractTerminate,
    DeleteContractResponse,
    ListContractsResponse,
)
from meterline.customers.schemas import IntegrationType
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.ids import ID_PATTERN
from meterline.kit.openapi import errors
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok

router = make_router(tags=["contracts"])

ContractId = PathId


@router.post(
    "/contracts",
    operation_id="createContract",
    responses=errors(404),
    response_model=ContractResponse,
    summary="Create Contract",
)
def create_contract(body: ContractCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"contract": service.create(conn, account_id=account.account_id, data=body)})


@router.get("/contracts", operation_id="listContracts", response_model=ListContractsResponse, summary="List contracts")
def list_contracts(
    conn: Conn,
    account: CurrentAccount,
    page: Annotated[PageRequest, Depends(page_request)],
    customerId: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> JSONResp:
    customer_id = customerId.lower() if customerId else None
    result = service.list_page(conn, account_id=account.account_id, customer_id=customer_id, page=page)
    return ok(result.body("contracts"))


@router.get(
    "/contracts/integration/{integrationType}/{integrationId}",
    operation_id="getContractByIntegrationId",
    response_model=ContractResponse,
    summary="Get contract by integration id",
)
def get_by_integration(
    integrationType: IntegrationType, integrationId: str, conn: Conn, account: CurrentAccount
) -> JSONResp:
    contract = service.get_by_integration(
        conn, account_id=account.account_id, integration_type=integrationType, integration_id=integrationId
    )
    return ok({"contract": contract})


@router.get(
    "/contracts/{contractId}", operation_id="getContract", response_model=ContractResponse, summary="Get Contract"
)
def get_contract(contractId: ContractId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"contract": service.get(conn, account_id=account.account_id, contract_id=contractId.lower())})


@router.post(
    "/contracts/{contractId}/terminate",
    operation_id="terminateContract",
    response_model=ContractResponse,
    summary="Terminate Contract (Meterline extension)",
)
def terminate_contract(
    contractId: ContractId, conn: Conn, account: CurrentAccount, body: ContractTerminate | None = None
) -> JSONResp:
    contract = service.terminate(conn, account_id=account.account_id, contract_id=contractId.lower(), data=body)
    return ok({"contract": contract})


@router.delete(
    "/contracts/{contractId}",
    operation_id="deleteContract",
    response_model=DeleteContractResponse,
    summary="Delete Contract",
)
def delete_contract(contractId: ContractId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"contract": service.delete(conn, account_id=account.account_id, contract_id=contractId.lower())})
