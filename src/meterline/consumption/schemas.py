"""Products consumptions on the wire: Vayu's ProductConsumption."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class ProductConsumption(BaseModel):
    productId: str
    productName: str
    provisionedAmount: Number
    consumedAmount: Number
    usagePercentage: Number
    hasAccess: bool
    remainingAmount: Number
    exceededAmount: Number
    windowStart: str | None = Field(default=None, description="extension: start of the usage window counted")
    windowEnd: str | None = Field(default=None, description="extension: end (exclusive) of that window")


class ProductsConsumptionsResponse(BaseModel):
    productsConsumptions: list[ProductConsumption]


class ProductConsumptionResponse(BaseModel):
    productConsumption: ProductConsumption
