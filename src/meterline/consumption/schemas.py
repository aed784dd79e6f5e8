"""Products consumptions on the wire: Vayu's ProductConsumption."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, WithJsonSchema

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


class ProductsConsumptionsResponse(BaseModel):
    productsConsumptions: list[ProductConsumption]


class ProductConsumptionResponse(BaseModel):
    productConsumption: ProductConsumption
