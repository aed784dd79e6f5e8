"""Response models (for the OpenAPI document only: endpoints answer plain dicts)."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class RevenueBreakdown(BaseModel):
    total: Decimal
    subtotal: Decimal
    overage: Decimal
    discount: Decimal
    creditsUsed: Decimal
    tax: Decimal


class LineItemOut(BaseModel):
    invoiceId: str
    revenueBreakdown: RevenueBreakdown


class BillingCycleOut(BaseModel):
    startTime: str
    endTime: str


class InvoiceOut(BaseModel):
    id: str
    accountId: str
    customerId: str
    contractId: str | None = None
    name: str
    billingCycle: BillingCycleOut
    revenueBreakdown: RevenueBreakdown
    billingStatus: str
    dueDate: str
    lineItems: list[LineItemOut]
    amount: Decimal
    amountPaid: Decimal = Field(description="Meterline: the sum of the payments recorded")
    amountDue: Decimal = Field(description="Meterline: total - amountPaid")
    paidAt: str | None = Field(None, description="Meterline: the last payment instant, once amountDue is 0")
    createdAt: str
    updatedAt: str


class InvoiceResponse(BaseModel):
    invoice: InvoiceOut


class ListInvoicesResponse(BaseModel):
    invoices: list[InvoiceOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None


class InvoicePaymentStatusResponse(BaseModel):
    invoiceId: str
    billingStatus: str
    amountDue: Decimal
    amountPaid: Decimal
    total: Decimal
    dueDate: str
    paidAt: str | None = None


Money = Annotated[Decimal, Field(gt=0), WithJsonSchema({"type": "string", "example": "12.50"})]


class PaymentRequest(BaseModel):
    """A payment against an issued invoice: amount > 0 in cents (a JSON number or a
    decimal string), paidAt (ISO 8601, default now), and a reference naming the payment
    (recording it again answers the same payment)."""

    model_config = ConfigDict(extra="forbid")

    amount: Money
    reference: str = Field(min_length=1, max_length=200)
    paidAt: str | None = None


class PaymentOut(BaseModel):
    id: str
    invoiceId: str
    amount: Decimal
    paidAt: str
    reference: str
    createdAt: str


class PaymentResponse(BaseModel):
    payment: PaymentOut
    created: bool = Field(description="false when the reference had been recorded before (a replay)")
    paymentStatus: InvoicePaymentStatusResponse


class ListPaymentsResponse(BaseModel):
    payments: list[PaymentOut]
    total: int
