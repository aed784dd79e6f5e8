"""Plans on the wire: Vayu's Plan (name, status, billingData) plus the product lines
a contract created from the plan gets (products, productGroups: our extension)."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from meterline.contracts.lines import Lines, PaymentTerm, ProductGroup, ProductLine
from meterline.kit.amounts import DomainCheck


class PlanStatus(StrEnum):
    Active = "Active"
    Inactive = "Inactive"
    Error = "Error"


class BillingInterval(StrEnum):
    Monthly = "Monthly"
    BiMonthly = "BiMonthly"
    Quarterly = "Quarterly"
    SixMonths = "SixMonths"
    Yearly = "Yearly"


PlanDuration = Annotated[
    Decimal, DomainCheck, WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"enum": [-1]}]})
]


class BillingData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billingInterval: BillingInterval
    duration: PlanDuration = Field(description="> 0, or -1 for unlimited")
    # Optional: vayu-py 0.3.11 cannot read a plan whose paymentTerm is set (NameError in its parser).
    paymentTerm: PaymentTerm | None = None
    autoRenewal: bool
    proRated: bool | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: Decimal) -> Decimal:
        if not (value > 0 or value == -1):
            raise ValueError("duration must be > 0, or -1 for unlimited")
        return value


class PlanCreate(Lines):
    name: str = Field(min_length=1, max_length=1024)
    status: PlanStatus = PlanStatus.Active
    billingData: BillingData


class PlanOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    status: PlanStatus
    billingData: BillingData
    products: list[ProductLine]
    productGroups: list[ProductGroup]
    createdAt: str
    updatedAt: str


class DeletedPlanOut(PlanOut):
    deletedAt: str


class PlanResponse(BaseModel):
    plan: PlanOut


class DeletePlanResponse(BaseModel):
    plan: DeletedPlanOut


class ListPlansResponse(BaseModel):
    plans: list[PlanOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
