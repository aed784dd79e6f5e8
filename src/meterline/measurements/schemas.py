"""Measurements on the wire: Vayu's CreateMeasurementRequest (one value per customer, meter, day)."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from meterline.kit.amounts import DomainCheck
from meterline.kit.ids import ID_PATTERN


class UsageDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1, le=9999)
    month: int = Field(ge=1, le=12, description="1-12, January is 1")
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _real_day(self) -> "UsageDate":
        try:
            date(self.year, self.month, self.day)
        except ValueError:
            raise ValueError(f"{self.year:04d}-{self.month:02d}-{self.day:02d} is not a calendar date") from None
        return self


class MeasurementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customerId: str = Field(pattern=ID_PATTERN)
    meterId: str = Field(pattern=ID_PATTERN)
    usageDate: UsageDate
    value: Annotated[Decimal, Field(ge=0), DomainCheck, WithJsonSchema({"type": "number", "minimum": 0})]


class MeasurementOut(MeasurementCreate):
    id: str
    createdAt: str
    updatedAt: str


class DeletedMeasurementOut(MeasurementOut):
    deletedAt: str


class MeasurementResponse(BaseModel):
    measurement: MeasurementOut


class DeleteMeasurementResponse(BaseModel):
    measurement: DeletedMeasurementOut


class ListMeasurementsResponse(BaseModel):
    measurements: list[MeasurementOut]
    total: int
    hasMore: bool
    nextCursor: str | None = None
