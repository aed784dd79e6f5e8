"""Credits on the wire: Vayu's GrantCreditsRequest / DeductCreditsRequest / CreditLedgerEntry."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from meterline.kit.amounts import DomainCheck
from meterline.kit.ids import ID_PATTERN

CreditAmount = Annotated[Decimal, Field(gt=0), DomainCheck, WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]


class EntryType(StrEnum):
    Grant = "Grant"
    Deduct = "Deduct"


class CreditsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creditAmount: CreditAmount
    customerId: str = Field(pattern=ID_PATTERN)


class CreditLedgerEntryOut(BaseModel):
    id: str
    createdAt: str
    type: EntryType
    amount: Annotated[Decimal, WithJsonSchema({"type": "number"})]
    balanceAfterEntry: Annotated[Decimal, WithJsonSchema({"type": "number"})]
    invoiceId: str | None = None
    erpId: str | None = None
    contractId: str | None = None
    integrationEntities: list[dict[str, Any]]


class CreditEntryResponse(BaseModel):
    entry: CreditLedgerEntryOut
    balance: Annotated[Decimal, WithJsonSchema({"type": "number"})]


class ListCreditLedgerEntriesResponse(BaseModel):
    entries: list[CreditLedgerEntryOut]
    balance: Annotated[Decimal, WithJsonSchema({"type": "number"})]
    total: int
    hasMore: bool
    nextCursor: str | None = None
