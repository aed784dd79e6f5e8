"""Customers on the wire: Vayu's CreateCustomerRequest fields, stored and returned as sent."""

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from meterline.customfields.schemas import CustomFieldEntry, OpenModel
from meterline.kit.amounts import DomainCheck

Alias = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Amount = Annotated[Decimal, DomainCheck, WithJsonSchema({"type": "number"})]


# The official client's Contact checks these (vayu-py 0.3.11, openapi/models/contact.py).
EMAIL_PATTERN = (
    r"^(?!\.)[A-Za-z0-9_!#$%&'*+\/=?^`{|}~-]+(?:\.[A-Za-z0-9_!#$%&'*+\/=?^`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
PHONE_PATTERN = r"^\+?[1-9]\d{4,15}$"


class Contact(OpenModel):
    name: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=320)
    title: str | None = Field(default=None, max_length=1024)
    phone: str | None = Field(default=None, max_length=17)
    receiveInvoiceEmail: bool | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        # Python's re: the pattern has a look-ahead, which pydantic's own patterns do not support.
        if value is not None and not re.match(EMAIL_PATTERN, value):
            raise ValueError("must be an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not re.match(PHONE_PATTERN, value):
            raise ValueError("must be a phone number: an optional +, then 5 to 16 digits, the first not 0")
        return value


class Address(OpenModel):
    country: str | None = Field(default=None, max_length=1024)
    city: str | None = Field(default=None, max_length=1024)
    addressText: str | None = Field(default=None, max_length=4096)
    state: str | None = Field(default=None, max_length=1024)
    postalCode: str | None = Field(default=None, max_length=256)


class CloudProviderSettings(OpenModel):
    cloudProvider: Literal["AWS"] | None = None
    cloudProviderMarketplaceId: str | None = Field(default=None, max_length=256)
    customerIdentifier: str | None = Field(default=None, max_length=256)


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
    contacts: list[Contact] | None = Field(default=None, max_length=100)
    source: CustomerSource | None = None
    legalName: str | None = Field(default=None, max_length=1024)
    taxIds: list[str] | None = Field(default=None, max_length=50)
    taxId: str | None = Field(default=None, max_length=256)
    cloudProviderSettings: CloudProviderSettings | None = None
    externalId: str | None = Field(default=None, min_length=1, max_length=256)
    customerErpId: str | None = Field(default=None, max_length=256)
    address: Address | None = None
    salesForceAccountId: str | None = Field(default=None, max_length=256)
    dueDays: DueDays | None = None
    currency: Currency | None = None
    customFields: list[CustomFieldEntry] | None = Field(default=None, max_length=200)
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
    """Vayu's IntegrationType enum (vayu-py 0.3.11): every value is a valid lookup path segment."""

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
