"""Product lines on the wire (Vayu's ProductGroup.products[] and ProductGroup), validated.

Shared by contracts and plans. Amounts are exact Decimals; every price is >= 0.
"""

from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from meterline.contracts.windows import Unit
from meterline.kit.amounts import DomainCheck
from meterline.kit.errors import InvalidParameter
from meterline.kit.ids import ID_PATTERN
from meterline.kit.times import from_us, parse_instant, to_us

NonNeg = Annotated[Decimal, Field(ge=0), DomainCheck, WithJsonSchema({"type": "number", "minimum": 0})]
Positive = Annotated[Decimal, Field(gt=0), DomainCheck, WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]
Percent = Annotated[
    Decimal, Field(ge=0, le=100), DomainCheck, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100})
]
Text = Annotated[str, Field(max_length=1024)]
IdRef = Annotated[str, Field(pattern=ID_PATTERN)]


def iso_exact(us: int) -> str:
    """Vayu's millisecond ISO form, or microseconds when the instant has them (nothing is lost)."""
    dt = from_us(us)
    frac = f"{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f"{dt.microsecond:06d}"
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z"


def _canonical_instant(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    try:
        dt = parse_instant(value, param="date")
    except (InvalidParameter, OverflowError):
        raise ValueError("must be an ISO 8601 date-time") from None
    if not 1900 <= dt.year <= 9000:
        raise ValueError("must be a date-time between the years 1900 and 9000")
    return iso_exact(to_us(dt))


Instant = Annotated[str, BeforeValidator(_canonical_instant), WithJsonSchema({"type": "string", "format": "date-time"})]
UsageReset = Annotated[int, Field(description="months: 1, 2, 3, 6 or 12")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OverageStrategy(StrEnum):
    IGNORE = "IGNORE"
    BLOCK = "BLOCK"
    UPGRADE_PLAN = "UPGRADE_PLAN"
    TOP_UP = "TOP_UP"


class PaymentTerm(StrEnum):
    Prepayment = "Prepayment"
    Postpayment = "Postpayment"


class Duration(Model):
    unit: Unit
    value: int = Field(ge=0, le=1000)


class Scheduling(Model):
    billingDay: int | None = Field(default=None, ge=1, le=31)
    duration: Duration


class Commitment(Model):
    units: NonNeg
    price: NonNeg | None = None
    type: Literal["UNITS", "PRICE"] | None = None
    scheduling: Scheduling | None = None
    overageStrategy: OverageStrategy | None = None

    @model_validator(mode="after")
    def _price_commitment(self) -> "Commitment":
        if self.type == "PRICE" and self.price is None:
            raise ValueError("a PRICE commitment needs price")
        return self


class Discount(Model):
    name: str = Field(min_length=1, max_length=1024)
    type: Literal["FIXED", "PERCENTAGE"]
    amount: NonNeg
    recurring: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _percent(self) -> "Discount":
        if self.type == "PERCENTAGE" and self.amount > 100:
            raise ValueError("a PERCENTAGE discount amount is at most 100")
        return self


class Installment(Model):
    installmentDate: Instant
    amount: NonNeg


class Cadence(Model):
    unit: Unit
    value: int = Field(ge=0, le=1000)


def _check_usage_reset(value: int | None) -> None:
    if value is not None and value not in (1, 2, 3, 6, 12):
        raise ValueError("usageReset must be one of 1, 2, 3, 6, 12 (months)")


class OneTime(Model):
    type: Literal["ONE_TIME"]
    price: NonNeg
    discount: Discount | None = None
    isCreditPurchase: bool | None = None


class ContractTerms(Model):
    type: Literal["CONTRACT_TERMS"]
    price: NonNeg
    installments: list[Installment] | None = Field(default=None, max_length=1000)
    discount: Discount | None = None


class Subscription(Model):
    type: Literal["SUBSCRIPTION"]
    price: NonNeg
    subscriptionCadence: Cadence
    discount: Discount | None = None


class Tier(Model):
    fromInclusive: NonNeg
    toExclusive: NonNeg | None = None
    rate: NonNeg | None = None
    flatFee: NonNeg | None = None
    packageSize: Positive | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "Tier":
        if self.toExclusive is not None and self.toExclusive <= self.fromInclusive:
            raise ValueError("toExclusive must be greater than fromInclusive")
        return self


class Tiered(Model):
    type: Literal["TIERED"]
    tiers: list[Tier] = Field(min_length=1, max_length=1000)
    subscriptionCadence: Cadence | None = None
    autoUpgrade: bool | None = None
    prorate: bool | None = None
    isRevShare: bool | None = None
    baseAmount: NonNeg | None = None
    usageReset: UsageReset | None = None

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[Tier]) -> list[Tier]:
        for i, (prev, cur) in enumerate(pairwise(tiers), start=1):
            if prev.toExclusive is None:
                raise ValueError(f"tiers[{i - 1}] is open-ended (no toExclusive) but is not the last tier")
            if cur.fromInclusive < prev.toExclusive:
                raise ValueError(
                    f"tiers[{i}] overlaps tiers[{i - 1}]: tiers must be in ascending order, "
                    "each fromInclusive >= the previous toExclusive"
                )
        return tiers

    @model_validator(mode="after")
    def _reset(self) -> "Tiered":
        _check_usage_reset(self.usageReset)
        return self


class PerUnit(Model):
    type: Literal["PER_UNIT"]
    price: NonNeg
    chunkSize: Positive | None = None
    usageReset: UsageReset | None = None
    baseAmount: NonNeg | None = None

    @model_validator(mode="after")
    def _reset(self) -> "PerUnit":
        _check_usage_reset(self.usageReset)
        return self


class FixedDeduction(Model):
    type: Literal["FIXED_DEDUCTION"]
    amountToDeduct: NonNeg
    installments: int | None = Field(default=None, ge=0)


class PercentageDeduction(Model):
    type: Literal["PERCENTAGE_DEDUCTION"]
    percentageToDeduct: Percent
    installments: int | None = Field(default=None, ge=0)


Pricing = Annotated[
    OneTime | ContractTerms | Subscription | Tiered | PerUnit | FixedDeduction | PercentageDeduction,
    Field(discriminator="type"),
]
PRICING_TYPES = frozenset(
    {"ONE_TIME", "CONTRACT_TERMS", "SUBSCRIPTION", "TIERED", "PER_UNIT", "FIXED_DEDUCTION", "PERCENTAGE_DEDUCTION"}
)


def _untagged_errors(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate a pricing; error locations leave out the union's tag (pricing.price, not pricing.PER_UNIT.price)."""
    try:
        return handler(value)
    except ValidationError as exc:
        details = [
            InitErrorDetails(
                type=err["type"],
                loc=tuple(p for i, p in enumerate(err["loc"]) if not (i == 0 and p in PRICING_TYPES)),
                input=err["input"],
                ctx=err.get("ctx", {}),
            )
            for err in exc.errors()
        ]
        raise ValidationError.from_exception_data(title=exc.title, line_errors=details) from None


def _check_price_commitment(commitment: Commitment | None, pricing: Any, where: str) -> None:
    if commitment is not None and commitment.type == "PRICE" and isinstance(pricing, PerUnit) and pricing.price == 0:
        raise ValueError(f"a PRICE commitment{where} on PER_UNIT pricing needs pricing.price > 0")


class ProductCloudProviderSettings(BaseModel):
    """The official client's ProductCloudProviderSettings: typed fields, other keys kept."""

    model_config = ConfigDict(extra="allow")
    cloudProvider: Literal["AWS"] | None = None
    cloudProviderMarketplaceId: str | None = Field(default=None, max_length=256)
    dimension: str | None = Field(default=None, max_length=256)


class ProductLine(Model):
    displayName: str = Field(min_length=1, max_length=1024)
    description: Text | None = None
    scheduling: Scheduling
    pricing: Pricing
    catalogProductId: IdRef | None = None
    productErpId: Text | None = None
    nsClass: Text | None = None
    nsClassId: Text | None = None
    commitment: Commitment | None = None
    paymentTerm: PaymentTerm | None = None
    isCalendarAligned: bool | None = None
    cloudProviderSettings: ProductCloudProviderSettings | None = None

    _pricing = field_validator("pricing", mode="wrap")(_untagged_errors)

    @model_validator(mode="after")
    def _commitment(self) -> "ProductLine":
        _check_price_commitment(self.commitment, self.pricing, "")
        return self


class ProductGroup(Model):
    displayName: str = Field(min_length=1, max_length=1024)
    description: Text | None = None
    productErpId: Text | None = None
    nsClass: Text | None = None
    nsClassId: Text | None = None
    products: list[ProductLine] = Field(min_length=1, max_length=1000)
    baseAmount: NonNeg | None = None
    commitment: Commitment | None = None
    isCalendarAligned: bool | None = None

    @model_validator(mode="after")
    def _group_commitment(self) -> "ProductGroup":
        for line in self.products:
            if line.commitment is None:
                _check_price_commitment(self.commitment, line.pricing, " of the group")
        return self


class Lines(Model):
    """The product lines of a contract or a plan."""

    products: list[ProductLine] | None = Field(default=None, max_length=1000)
    productGroups: list[ProductGroup] | None = Field(default=None, max_length=1000)


def dump(model: BaseModel) -> dict[str, Any]:
    """The fields as sent (explicit nulls kept, nothing added), decimals exact."""
    return model.model_dump(mode="python", exclude_unset=True)


def catalog_product_refs(products: list[dict[str, Any]], groups: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(param, catalogProductId) of every line that names a catalog product."""
    out = []
    for i, line in enumerate(products):
        if line.get("catalogProductId"):
            out.append((f"products[{i}].catalogProductId", str(line["catalogProductId"]).lower()))
    for g, group in enumerate(groups):
        for i, line in enumerate(group.get("products") or []):
            if line.get("catalogProductId"):
                out.append(
                    (f"productGroups[{g}].products[{i}].catalogProductId", str(line["catalogProductId"]).lower())
                )
    return out
