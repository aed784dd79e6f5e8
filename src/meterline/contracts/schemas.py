"""Contracts on the wire: Vayu's CreateContractRequest, every pricing type, plus planId lines."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from meterline.contracts.lines import IdRef, Instant, Lines, ProductGroup, ProductLine, Text
from meterline.customers.schemas import Currency
from meterline.customers.schemas import IntegrationType as IntegrationType  # one enum for both lookups
from meterline.customfields.schemas import CustomFieldEntry, CustomFieldValueEntry


class ContractStatus(StrEnum):
    InReview = "InReview"
    Active = "Active"
    Inactive = "Inactive"
    Expired = "Expired"
    Terminated = "Terminated"
    PendingTermination = "PendingTermination"
    Error = "Error"


class ContractCreate(Lines):
    startDate: Instant
    customerId: IdRef
    name: str = Field(min_length=1, max_length=1024)
    planId: IdRef | None = None
    externalId: Text | None = None
    salesForceOpportunityId: Text | None = None
    endDate: Instant | None = None
    signatureDate: Instant | None = None
    accountManager: Text | None = None
    shouldProRateInvoices: bool | None = None
    autoRenewContract: bool | None = None
    customFields: list[CustomFieldEntry] | None = Field(default=None, max_length=200)
    customFieldValues: list[CustomFieldValueEntry] | None = Field(default=None, max_length=200)
    status: ContractStatus | None = None
    purchaseOrder: Text | None = None
    currency: Currency | None = None
    terminationDate: Instant | None = Field(
        default=None, description="extension: with status Terminated or PendingTermination (default: creation instant)"
    )


class ContractTerminate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terminationDate: Instant | None = Field(default=None, description="default: now")


class ContractOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    customerId: str
    name: str
    startDate: str
    endDate: str | None = None
    status: ContractStatus
    planId: str | None = None
    terminationDate: str | None = Field(default=None, description="set by POST /contracts/{id}/terminate")
    products: list[ProductLine]
    productGroups: list[ProductGroup]
    createdAt: str
    updatedAt: str


class DeletedContractOut(ContractOut):
    deletedAt: str


class ContractResponse(BaseModel):
    contract: ContractOut


class DeleteContractResponse(BaseModel):
    contract: DeletedContractOut


class ListContractsResponse(BaseModel):
    contracts: list[ContractOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
