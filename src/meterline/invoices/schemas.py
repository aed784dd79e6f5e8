"""Response models (for the OpenAPI document only: endpoints answer plain dicts)."""

from pydantic import BaseModel

from meterline.kit.decimals import Number


class RevenueBreakdown(BaseModel):
    total: Number
    subtotal: Number
    overage: Number
    discount: Number
    creditsUsed: Number
    tax: Number


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
    dueDate: str | None
    lineItems: list[LineItemOut]
    amount: Number
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
    dueDate: str | None = None
    paidAt: str | None = None
