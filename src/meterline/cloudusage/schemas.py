"""Vayu's SubmitCloudUsageRequest / CloudUsageResult (vayu-py 0.3.11), and the list extension."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from meterline.contracts.lines import Instant

# The key the official client produces (its model's pattern); the vendor's document omits
# the trailing 13-digit millisecond stamp, so both forms are accepted.
IDEMPOTENCY_KEY = r"^vayu-\S{24}-\S{24}-\S{24}-\S{24}(-\d{13})?$"
Quantity = Annotated[Decimal, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0})]
Name = Annotated[str, Field(min_length=1, max_length=1024)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageWindow(_Model):
    start: Instant
    end: Instant


class PartnerSubmissionDetail(_Model):
    receivedAt: Name
    status: Literal["SUCCESS", "ERROR"]
    error: Any = None


class CloudUsageResult(_Model):
    status: Literal["ACCEPTED", "REJECTED"]
    errorCode: Annotated[str, Field(max_length=1024)] | None = None
    usageWindow: UsageWindow
    errorMessage: Annotated[str, Field(max_length=4096)] | None = None
    correlationId: Name
    idempotencyKey: str = Field(pattern=IDEMPOTENCY_KEY, max_length=1024)
    meterDimension: Name
    acceptedQuantity: Quantity
    partnerSubmission: dict[str, PartnerSubmissionDetail] = Field(max_length=100)
    quantitySubmitted: Quantity
    timestampSubmitted: Instant
    awsCustomerIdentifier: Name


class SubmitCloudUsageRequest(_Model):
    results: list[CloudUsageResult] = Field(min_length=1, max_length=1000)
    productCode: Name


class SubmitCloudUsageResponse(BaseModel):
    """Vayu's schema: an empty object."""


class StoredCloudUsageResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    productCode: str
    idempotencyKey: str
    status: str
    createdAt: str


class ListCloudUsageResultsResponse(BaseModel):
    results: list[StoredCloudUsageResult]
    total: int
    hasMore: bool
    nextCursor: str | None = None
