"""Custom fields through the official client's generated API (vayu_sdk has no wrapper)."""

import pytest
from openapi.api.custom_fields_api import CustomFieldsApi
from openapi.exceptions import BadRequestException, NotFoundException
from openapi.models.create_custom_field_request import CreateCustomFieldRequest
from openapi.models.update_custom_field_request import UpdateCustomFieldRequest
from vayu_sdk.clients.vayu_client import VayuClient

from tests.conftest import Account
from tests.support import LiveServer


def test_custom_field_lifecycle(live_server: LiveServer, account: Account) -> None:
    api = CustomFieldsApi(VayuClient(account.api_key, live_server.url).client)
    created = api.create_custom_field(
        CreateCustomFieldRequest(
            vayuEntity="Customer",
            vayuCustomFieldName="tier",
            valueType="Enum",
            allowedValues=["gold", "silver"],
            defaultValue="gold",
        )
    ).custom_field
    assert created.vayu_custom_field_name == "tier" and created.allowed_values == ["gold", "silver"]
    assert api.get_custom_field(created.id).custom_field.id == created.id
    listed = api.list_custom_fields()
    assert listed.total == 1 and [f.id for f in listed.custom_fields] == [created.id]
    updated = api.update_custom_field(UpdateCustomFieldRequest(vayuCustomFieldName="plan tier"), created.id)
    assert updated.custom_field.vayu_custom_field_name == "plan tier"
    assert updated.custom_field.allowed_values == ["gold", "silver"]
    with pytest.raises(BadRequestException):
        api.update_custom_field(UpdateCustomFieldRequest(defaultValue="bronze"), created.id)
    deleted = api.delete_custom_field(created.id).custom_field
    assert deleted.deleted_at
    with pytest.raises(NotFoundException):
        api.get_custom_field(created.id)
    with pytest.raises(BadRequestException):
        api.create_custom_field(
            CreateCustomFieldRequest(vayuEntity="Customer", vayuCustomFieldName="x", valueType="Enum")
        )
