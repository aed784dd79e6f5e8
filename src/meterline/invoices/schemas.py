"""Response models (for the OpenAPI document only: endpoints answer plain dicts)."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from meterline.kit.amounts import DomainCheck
from meterline.kit.decimals import Number


class RevenueBreakdown(BaseModel):
    total: Number
    subtotal: Number
    overage: Number
    discount: Number
    creditsUsed: Number
    tax: Number


class LineItemOut(BaseModel):
    """Vayu's LineItem; every field after revenueBreakdown is a Meterline extension."""

    invoiceId: str
    revenueBreakdown: RevenueBreakdown
    lineIndex: int = Field(description="Position of the product line in the contract (products, then groups)")
    linePath: str | None = Field(None, description='e.g. "products[0]" or "productGroups[1].products[0]"')
    catalogProductId: str | None = None
    productName: str | None = Field(None, description="The catalog product's current name")
    displayName: str
    pricingType: str
    quantity: Number | None = Field(None, description="Usage in the cycle; subscription periods; 1 or 0")
    billedQuantity: Number | None = Field(None, description="Units billed by the pricing (beyond a commitment)")
    unitPrice: Number | None = None
    tiers: list[dict[str, Any]] | None = Field(None, description="TIERED: units and amount of every tier")
    commitment: dict[str, Any] | None = None
    prorationFactor: Number | None = None
    charge: Number = Field(description="Gross charge (= revenueBreakdown.subtotal)")
    discount: Number
    amount: Number = Field(description="= revenueBreakdown.total")


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
    amount: Number
    amountPaid: Number = Field(description="Meterline: the sum of the payments recorded")
    amountDue: Number = Field(description="Meterline: total - amountPaid")
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
    amountDue: Number
    amountPaid: Number
    total: Number
    dueDate: str
    paidAt: str | None = None


Money = Annotated[Decimal, Field(gt=0), DomainCheck, WithJsonSchema({"type": "string", "example": "12.50"})]


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
    amount: Number
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
