"""Response models (for the OpenAPI document only: endpoints answer plain dicts)."""

from decimal import Decimal

from pydantic import BaseModel


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
    dueDate: str | None
    lineItems: list[LineItemOut]
    amount: Decimal
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
    dueDate: str | None = None
    paidAt: str | None = None
