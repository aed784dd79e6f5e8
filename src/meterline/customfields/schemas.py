"""Custom field definitions (Vayu's customFields tag)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Entity(StrEnum):
    Customer = "Customer"
    Contract = "Contract"
    Invoice = "Invoice"
    LineItem = "LineItem"


class ValueType(StrEnum):
    String = "String"
    Number = "Number"
    Boolean = "Boolean"
    Enum = "Enum"


class IntegrationSource(StrEnum):
    NetSuite = "NetSuite"
    QuickBooks = "QuickBooks"
    Stripe = "Stripe"
    Salesforce = "Salesforce"
    Hubspot = "Hubspot"
    Vayu = "Vayu"
    Slack = "Slack"
    S3 = "S3"
    Morning = "Morning"
    Snowflake = "Snowflake"
    Anrok = "Anrok"
    Connact = "Connact"
    Xero = "Xero"


class IntegrationEntityType(StrEnum):
    Account = "Account"
    Invoice = "Invoice"
    SalesOrder = "SalesOrder"
    Item = "Item"
    Deal = "Deal"
    Company = "Company"
    Opportunity = "Opportunity"


class OpenModel(BaseModel):
    """A nested object typed as the official client's model: its fields' types are checked
    (the client parses them strictly), other keys are kept (its additional_properties)."""

    model_config = ConfigDict(extra="allow")


class CustomFieldEntry(OpenModel):
    """A custom field carried on a customer or a contract (the client's CustomField)."""

    vayuCustomFieldName: str = Field(max_length=256)
    valueType: ValueType
    integrationSource: IntegrationSource | None = None
    integrationEntityType: IntegrationEntityType | None = None
    fieldPath: str | None = Field(default=None, max_length=1024)
    value: Any = None


class CustomFieldValueEntry(OpenModel):
    """A contract's custom field value (the client's CustomFieldValue)."""

    customFieldDefinitionId: str = Field(max_length=256)
    value: str | None = Field(default=None, max_length=1024)
    fieldName: str | None = Field(default=None, max_length=256)


class CustomFieldBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    integrationSource: IntegrationSource | None = None
    # vayu-py 0.3.11 cannot read a definition that has one (NameError in its from_dict).
    integrationEntityType: IntegrationEntityType | None = None
    fieldPath: str | None = Field(default=None, max_length=1024)
    allowedValues: list[str] | None = Field(default=None, max_length=1000)
    defaultValue: str | None = Field(default=None, max_length=1024)


class CustomFieldCreate(CustomFieldBase):
    vayuEntity: Entity
    vayuCustomFieldName: str = Field(min_length=1, max_length=256)
    valueType: ValueType

    @model_validator(mode="after")
    def _enum_rules(self) -> "CustomFieldCreate":
        check_enum_rules(self.valueType, self.allowedValues, self.defaultValue)
        return self


class CustomFieldUpdate(CustomFieldBase):
    vayuEntity: Entity | None = None
    vayuCustomFieldName: str | None = Field(default=None, min_length=1, max_length=256)
    valueType: ValueType | None = None


def check_enum_rules(value_type: str | None, allowed: list[str] | None, default: str | None) -> None:
    if value_type == ValueType.Enum and not allowed:
        raise ValueError("allowedValues is required for Enum fields")
    if default is not None and allowed and default not in allowed:
        raise ValueError("defaultValue must be one of allowedValues")


class CustomFieldOut(CustomFieldCreate):
    model_config = ConfigDict(extra="allow")
    id: str
    createdAt: str
    updatedAt: str


class DeletedCustomFieldOut(CustomFieldOut):
    deletedAt: str


class CustomFieldResponse(BaseModel):
    customField: CustomFieldOut


class DeleteCustomFieldResponse(BaseModel):
    customField: DeletedCustomFieldOut


class ListCustomFieldsResponse(BaseModel):
    customFields: list[CustomFieldOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
