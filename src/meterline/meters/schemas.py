"""Meters on the wire: Vayu's Meter / UpdateMeterRequest fields.

Operator names are checked by the service (400 with param `aggregationMethod.operator`)
so that every meter problem is reported the same way; the document lists them as enums.
"""

from pydantic import BaseModel, ConfigDict, Field

from meterline.meters.filters import CRITERION_OPERATORS
from meterline.meters.spec import OPERATORS


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=512)
    operator: str = Field(json_schema_extra={"enum": list(CRITERION_OPERATORS)})
    value: str | None = Field(default=None, max_length=4096)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criterions: list[Criterion] = Field(min_length=1, max_length=100)


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conditions: list[Condition] = Field(min_length=1, max_length=100)


class AggregationMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operator: str = Field(json_schema_extra={"enum": list(OPERATORS)})
    field: str | None = Field(default=None, max_length=512)
    instanceKey: str | None = Field(default=None, max_length=512)


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    eventName: str = Field(min_length=1, max_length=1024)
    aggregationMethod: AggregationMethod
    filter: Filter | None = None


class MeterUpdate(BaseModel):
    """Partial: null or absent means unchanged."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    eventName: str | None = Field(default=None, min_length=1, max_length=1024)
    aggregationMethod: AggregationMethod | None = None
    filter: Filter | None = None


class MeterOut(MeterCreate):
    model_config = ConfigDict(extra="allow")
    id: str
    createdAt: str
    updatedAt: str


class DeletedMeterOut(MeterOut):
    deletedAt: str


class MeterResponse(BaseModel):
    meter: MeterOut


class DeleteMeterResponse(BaseModel):
    meter: DeletedMeterOut


class ListMetersResponse(BaseModel):
    meters: list[MeterOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
