"""Webhooks on the wire: Vayu's WebhookSubscribeRequest and our subscription shape."""

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from meterline.kit.amounts import DomainCheck

MAX_URL_LENGTH = 2048
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


class NotificationEventType(StrEnum):
    """The official client's enum (vayu-py 0.3.11), in its order."""

    AnonymousCustomer = "AnonymousCustomer"
    Overage = "Overage"
    UpcomingRenewal = "UpcomingRenewal"
    InvoiceApproved = "InvoiceApproved"
    CustomerPortalLinkSent = "CustomerPortalLinkSent"
    NewCustomerWithoutContract = "NewCustomerWithoutContract"
    MonthEndReport = "MonthEndReport"
    UnchargedEvents = "UnchargedEvents"
    TierCrossed = "TierCrossed"
    CommitmentCrossed = "CommitmentCrossed"
    CommitmentUsageCrossed = "CommitmentUsageCrossed"
    CurrencyCommitmentUsageCrossed = "CurrencyCommitmentUsageCrossed"
    FinalTierExceeded = "FinalTierExceeded"
    InvoicePaymentStatusChanged = "InvoicePaymentStatusChanged"
    InvoiceSendFailed = "InvoiceSendFailed"
    PingTest = "PingTest"


Threshold = Annotated[
    Decimal, Field(gt=0, le=1), DomainCheck, WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1})
]


def check_callback_url(value: str) -> str:
    """An absolute http(s) URL with a host; the message names what is wrong."""
    if _BAD_URL_CHARS.search(value):
        raise ValueError("callbackUrl must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise ValueError("callbackUrl is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("callbackUrl must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("callbackUrl must name a host")
    if port == 0:
        raise ValueError("callbackUrl has an invalid port")
    return value


class WebhookSubscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callbackUrl: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    eventType: NotificationEventType
    threshold: Threshold | None = None

    @field_validator("callbackUrl")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_callback_url(value)


class WebhookOut(BaseModel):
    id: str
    callbackUrl: str
    eventType: NotificationEventType
    threshold: Annotated[Decimal | None, WithJsonSchema({"type": ["number", "null"]})] = None
    createdAt: str
    updatedAt: str


class DeletedWebhookOut(WebhookOut):
    deletedAt: str


class WebhookResponse(BaseModel):
    webhook: WebhookOut


class DeleteWebhookResponse(BaseModel):
    webhook: DeletedWebhookOut


class ListWebhooksResponse(BaseModel):
    webhooks: list[WebhookOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None


class PublicKeyResponse(BaseModel):
    publicKey: str = Field(description="The account's RSA public key, PEM (SubjectPublicKeyInfo)")
    algorithm: str = Field(description="RSASSA-PKCS1-v1_5 with SHA-256")
    signatureVersion: str = Field(description="The X-Signature-Version the signatures carry")


DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]


class DeliveryOut(BaseModel):
    id: str
    notificationId: str = Field(description="The `id` of the body sent (the same on every retry)")
    eventType: NotificationEventType
    status: str = Field(description="pending | delivered | failed | cancelled")
    attempts: int
    nextAttemptAt: str | None
    lastStatusCode: int | None = Field(description="HTTP status of the last attempt; null when no answer")
    lastError: str | None
    createdAt: str
    finishedAt: str | None


class DeliveryResponse(BaseModel):
    delivery: DeliveryOut


class ListDeliveriesResponse(BaseModel):
    deliveries: list[DeliveryOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
