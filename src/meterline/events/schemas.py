"""Events on the wire (for the OpenAPI document; the hot path validates by hand)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    timestamp: str
    customerAlias: str
    ref: str
    data: dict[str, Any] | None = None


class SendEventsRequest(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class InvalidEvent(BaseModel):
    event: Any
    error: str


class SendEventsResponse(BaseModel):
    validEvents: list[EventIn]
    invalidEvents: list[InvalidEvent]


class EventOut(EventIn):
    id: str
    createdAt: str
    updatedAt: str


class DeletedEventOut(EventOut):
    deletedAt: str


class EventResponse(BaseModel):
    event: EventOut


class DeleteEventResponse(BaseModel):
    event: DeletedEventOut


class QueryEventsResponse(BaseModel):
    events: list[EventOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None


class DeleteEventsByRefsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refs: list[str] = Field(min_length=1, max_length=1000)


class DeleteEventsByRefsResponse(BaseModel):
    events: list[DeletedEventOut]


class DryRunEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    event: dict[str, Any]
    matchedCustomer: str | None
    meterWithValues: list[dict[str, Any]]


class DryRunResponse(BaseModel):
    events: list[DryRunEvent]


class IngestionDay(BaseModel):
    day: str = Field(description="the UTC day's start, ISO 8601")
    accepted: int
    invalid: int
    duplicate: int


class IngestionCountsResponse(BaseModel):
    """Extension: what POST /events answered, summed per UTC day of receipt."""

    accepted: int = Field(description="events stored")
    invalid: int = Field(description="events refused as invalid (not stored)")
    duplicate: int = Field(description="events refused because their ref already existed")
    days: list[IngestionDay]
