"""The wire shapes of `POST /v2/events/aggregation`, as vayu-py 0.3.11's models define them
(V2QueryEventsAggregationRequest / V2QueryEventsAggregationResponse)."""

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meterline.kit.decimals import Number

FilterOperator = Literal["eq", "neq", "gt", "gte", "lt", "lte", "in"]
AggregationOperator = Literal["Count", "Sum", "Distinct", "Max", "Min", "Average", "First", "Last"]
Scalar = str | Decimal
Path = str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(_Model):
    startTime: str | None = Field(default=None, description="ISO 8601, inclusive; default: start of this UTC month")
    endTime: str | None = Field(default=None, description="ISO 8601, exclusive; default: now")


class FieldArithmetic(_Model):
    operator: Literal["*", "+", "-", "/"]
    field: Path = Field(min_length=1, max_length=256)


class Aggregation(_Model):
    operator: AggregationOperator
    field: Path | None = Field(default=None, min_length=1, max_length=256)
    fieldArithmetic: FieldArithmetic | None = None


class InlineFilter(_Model):
    field: Path = Field(min_length=1, max_length=256)
    operator: FilterOperator
    value: Scalar | list[Scalar] = Field(description="a string, a number, or (for `in`) a list of them")


class InlineMeter(_Model):
    key: str = Field(min_length=1, max_length=256)
    eventName: str = Field(min_length=1, max_length=256)
    aggregation: Aggregation | None = None
    sqlSelect: Any = Field(default=None, description="refused: Meterline never runs a client's SQL")
    sqlFullQuery: Any = Field(default=None, description="refused: Meterline never runs a client's SQL")
    filters: list[InlineFilter] | None = Field(default=None, max_length=50)


class AggregationRequest(_Model):
    customerId: str | None = Field(default=None, description="a customer id, or one of its aliases")
    customerIdPattern: str | None = Field(
        default=None, min_length=1, max_length=256, description="glob over aliases (`*`: any run); wins over customerId"
    )
    period: Period = Field(default_factory=Period)
    meters: list[InlineMeter] = Field(min_length=1, max_length=50)
    groupBy: Literal["event", "day", "month", "quarter", "year"]
    fillDates: bool | None = None


class PeriodOut(BaseModel):
    startTime: str
    endTime: str


class DataPoint(BaseModel):
    group: str
    values: dict[str, Number]


class AggregationResponse(BaseModel):
    period: PeriodOut
    dataPoints: list[DataPoint]
    groupBy: str
