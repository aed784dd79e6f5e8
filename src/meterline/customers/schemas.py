"""Customers on the wire: Vayu's CreateCustomerRequest fields, stored and returned as sent."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

Alias = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Amount = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class CustomerSource(StrEnum):
    Stripe = "Stripe"
    VayuEventsApi = "VayuEventsApi"
    Api = "Api"
    Salesforce = "Salesforce"
    HubSpot = "HubSpot"


class Currency(StrEnum):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"
    ILS = "ILS"
    CAD = "CAD"
    AUD = "AUD"
    COP = "COP"
    BRL = "BRL"


class DueDays(StrEnum):
    END_OF_MONTH = "END_OF_MONTH"
    SAME_DAY = "SAME_DAY"
    D15 = "15_DAYS"
    D30 = "30_DAYS"
    D45 = "45_DAYS"
    D60 = "60_DAYS"
    D90 = "90_DAYS"


class CustomerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aliases: list[Alias] | None = Field(default=None, max_length=100)
    contacts: list[dict[str, Any]] | None = Field(default=None, max_length=100)
    source: CustomerSource | None = None
    legalName: str | None = Field(default=None, max_length=1024)
    taxIds: list[str] | None = Field(default=None, max_length=50)
    taxId: str | None = Field(default=None, max_length=256)
    cloudProviderSettings: dict[str, Any] | None = None
    externalId: str | None = Field(default=None, min_length=1, max_length=256)
    customerErpId: str | None = Field(default=None, max_length=256)
    address: dict[str, Any] | None = None
    salesForceAccountId: str | None = Field(default=None, max_length=256)
    dueDays: DueDays | None = None
    currency: Currency | None = None
    customFields: list[dict[str, Any]] | None = Field(default=None, max_length=200)
    subsidiary: str | None = Field(default=None, max_length=1024)
    totalOutstandingAmount: Amount | None = None
    openAmount: Amount | None = None
    overdueAmount: Amount | None = None
    pendingPaymentAmount: Amount | None = None
    paidAmount: Amount | None = None

    @field_validator("aliases")
    @classmethod
    def _distinct_aliases(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("aliases must be distinct")
        return value


class CustomerCreate(CustomerFields):
    name: str = Field(min_length=1, max_length=1024)


class CustomerUpdate(CustomerFields):
    """Partial: only the fields present in the body change."""

    name: str | None = Field(default=None, min_length=1, max_length=1024)


class CustomerOut(CustomerCreate):
    model_config = ConfigDict(extra="allow")
    id: str
    createdAt: str
    updatedAt: str


class DeletedCustomerOut(CustomerOut):
    deletedAt: str


class CustomerResponse(BaseModel):
    customer: CustomerOut


class DeleteCustomerResponse(BaseModel):
    customer: DeletedCustomerOut


class ListCustomersResponse(BaseModel):
    customers: list[CustomerOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None


class IntegrationType(StrEnum):
    """Vayu's integration types (customers and contracts are looked up by them)."""

    Hubspot = "Hubspot"
    Stripe = "Stripe"
    NetSuite = "NetSuite"
    Salesforce = "Salesforce"
    QuickBooks = "QuickBooks"
    Slack = "Slack"
    S3 = "S3"
    Vayu = "Vayu"
    Morning = "Morning"
    Anrok = "Anrok"
    Snowflake = "Snowflake"
    Connact = "Connact"
    Xero = "Xero"


class CustomerRelationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vayuParentCustomerId: str = Field(pattern=r"^[0-9a-fA-F]{24}$")
    vayuChildCustomerId: str = Field(pattern=r"^[0-9a-fA-F]{24}$")


class CustomerRelationOut(BaseModel):
    id: str
    vayuParentCustomerId: str
    vayuChildCustomerId: str
    createdAt: str
    updatedAt: str


class CustomerRelationResponse(BaseModel):
    customerRelation: CustomerRelationOut
