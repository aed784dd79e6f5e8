"""HTTP only: custom field definitions."""

from typing import Annotated

from fastapi import Depends

from meterline.customfields import service
from meterline.customfields.schemas import (
    CustomFieldCreate,
    CustomFieldResponse,
    CustomFieldUpdate,
    DeleteCustomFieldResponse,
    ListCustomFieldsResponse,
)
from meterline.db.session import Conn
from meterline.kit.auth import CurrentAccount
from meterline.kit.pagination import PageRequest, page_request
from meterline.kit.routing import JSONResp, PathId, make_router, ok

router = make_router(tags=["custom-fields"])
FieldId = PathId


@router.post("/customFields", operation_id="createCustomField", response_model=CustomFieldResponse)
def create_field(body: CustomFieldCreate, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customField": service.create(conn, account_id=account.account_id, data=body)})


@router.get("/customFields", operation_id="listCustomFields", response_model=ListCustomFieldsResponse)
def list_fields(conn: Conn, account: CurrentAccount, page: Annotated[PageRequest, Depends(page_request)]) -> JSONResp:
    return ok(service.list_page(conn, account_id=account.account_id, page=page).body("customFields"))


@router.get("/customFields/{customFieldId}", operation_id="getCustomField", response_model=CustomFieldResponse)
def get_field(customFieldId: FieldId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customField": service.get(conn, account_id=account.account_id, field_id=customFieldId.lower())})


@router.put("/customFields/{customFieldId}", operation_id="updateCustomField", response_model=CustomFieldResponse)
def update_field(customFieldId: FieldId, body: CustomFieldUpdate, conn: Conn, account: CurrentAccount) -> JSONResp:
    field = service.update(conn, account_id=account.account_id, field_id=customFieldId.lower(), data=body)
    return ok({"customField": field})


@router.delete(
    "/customFields/{customFieldId}", operation_id="deleteCustomField", response_model=DeleteCustomFieldResponse
)
def delete_field(customFieldId: FieldId, conn: Conn, account: CurrentAccount) -> JSONResp:
    return ok({"customField": service.delete(conn, account_id=account.account_id, field_id=customFieldId.lower())})
