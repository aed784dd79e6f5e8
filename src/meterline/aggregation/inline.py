"""Meters given inline in an aggregation request, compiled to the metering rules. Pure.

SEMANTICS "Usage over time": an inline meter selects the events named `eventName` that
pass EVERY entry of `filters[]` (eq, neq, gt, gte, lt, lte, in read as Equals,
DoesntEqual, LargerThan, LargerEqualTo, LowerThan, LowerEqualTo, In: meters/filters.py)
and aggregates them with `aggregation.operator` over `field`. With `fieldArithmetic` an
event's value is `data[field] op data[fieldArithmetic.field]`; a missing or non-numeric
side, or a division by zero, leaves the event without a value (a quotient is rounded
half-even to 12 decimal places, as every division of the metering rules).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.aggregation.schemas import InlineMeter
from meterline.kit.errors import BadRequest
from meterline.kit.jsonenc import decimal_text
from meterline.meters.aggregation import EXACT, quotient
from meterline.meters.filters import Path, as_number, canonical, compile_filter, lookup, parse_path
from meterline.meters.spec import MeterSpec

CRITERIA = {
    "eq": "Equals",
    "neq": "DoesntEqual",
    "gt": "LargerThan",
    "gte": "LargerEqualTo",
    "lt": "LowerThan",
    "lte": "LowerEqualTo",
    "in": "In",
}


@dataclass(frozen=True, slots=True)
class InlineSpec(MeterSpec):
    """A MeterSpec whose value may combine two fields (fieldArithmetic)."""

    arithmetic: tuple[str, Path] | None = None

    def value(self, data: Any) -> Decimal | None:
        left = MeterSpec.value(self, data)
        if self.arithmetic is None or left is None:
            return left
        op, path = self.arithmetic
        right = as_number(lookup(data, path))
        if right is None:
            return None
        if op == "+":
            return EXACT.add(left, right)
        if op == "-":
            return EXACT.subtract(left, right)
        if op == "*":
            return EXACT.multiply(left, right)
        return None if right == 0 else quotient(left, right)

    def distinct_value(self, data: Any) -> str | None:
        """Distinct with fieldArithmetic counts distinct computed values."""
        if self.arithmetic is None:
            return MeterSpec.distinct_value(self, data)
        v = self.value(data)
        return None if v is None else canonical(v)


def _text(value: str | Decimal) -> str:
    return value if isinstance(value, str) else decimal_text(value)


def filter_doc(meter: InlineMeter, where: str) -> dict[str, Any] | None:
    """The meter filter document (one condition, every criterion must hold) of `filters[]`."""
    criterions = []
    for i, f in enumerate(meter.filters or []):
        param = f"{where}.filters[{i}]"
        try:
            parse_path(f.field)
        except ValueError:
            raise BadRequest("must be a dotted path into data, e.g. usage.tokens", param=f"{param}.field") from None
        if isinstance(f.value, list):
            if f.operator != "in":
                raise BadRequest(f"a list value needs the `in` operator, not {f.operator}", param=f"{param}.value")
            items = [_text(v) for v in f.value]
            if not items or any("," in v for v in items):
                raise BadRequest("must be a non-empty list of values without commas", param=f"{param}.value")
            value = ",".join(items)
        else:
            value = _text(f.value)
        criterions.append({"field": f.field, "operator": CRITERIA[f.operator], "value": value})
    return {"conditions": [{"criterions": criterions}]} if criterions else None


def compile_inline(meter: InlineMeter, where: str) -> InlineSpec:
    """The spec of one entry of `meters[]` (`where` names it in errors: `meters[0]`)."""
    if meter.sqlSelect is not None or meter.sqlFullQuery is not None:
        param = f"{where}.sqlSelect" if meter.sqlSelect is not None else f"{where}.sqlFullQuery"
        raise BadRequest(
            "Meterline never runs a client's SQL: describe the meter with `aggregation` and `filters`.",
            code="bad_request",
            param=param,
        )
    agg = meter.aggregation
    if agg is None:
        raise BadRequest("aggregation is required", code="parameter_missing", param=f"{where}.aggregation")
    paths: list[Path | None] = []
    for name, text in (
        ("field", agg.field),
        ("fieldArithmetic.field", agg.fieldArithmetic and agg.fieldArithmetic.field),
    ):
        try:
            paths.append(parse_path(text) if text else None)
        except ValueError:
            raise BadRequest("must be a dotted path into data", param=f"{where}.aggregation.{name}") from None
    if agg.operator != "Count" and paths[0] is None:
        raise BadRequest(f"is required for the {agg.operator} operator", param=f"{where}.aggregation.field")
    if agg.fieldArithmetic is not None and agg.operator == "Count":
        raise BadRequest(
            "Count counts events: it takes no fieldArithmetic", param=f"{where}.aggregation.fieldArithmetic"
        )
    arithmetic = None
    if agg.fieldArithmetic is not None and paths[1] is not None:
        arithmetic = (agg.fieldArithmetic.operator, paths[1])
    return InlineSpec(
        event_name=meter.eventName,
        operator=agg.operator,
        field=paths[0] if agg.operator != "Count" else None,
        instance_key=None,
        predicate=compile_filter(filter_doc(meter, where)),
        arithmetic=arithmetic,
    )


def _criteria(doc: Mapping[str, Any] | None) -> frozenset[tuple[str, str, str]] | None:
    """The criterions of a one-condition filter (None: no filter); an unusable shape -> ()."""
    if not doc:
        return frozenset()
    conditions = doc.get("conditions") or []
    if len(conditions) != 1:
        return None
    return frozenset((c["field"], c["operator"], str(c.get("value") or "")) for c in conditions[0]["criterions"])


def same_meter(meter: InlineMeter, where: str, stored: Mapping[str, Any]) -> bool:
    """Does a stored meter document select and aggregate exactly as this inline meter
    (same eventName, operator and field, no instanceKey, no fieldArithmetic, the same
    criterions)? Then its rollups answer for it."""
    agg = meter.aggregation
    if agg is None or agg.fieldArithmetic is not None or stored.get("eventName") != meter.eventName:
        return False
    method = stored.get("aggregationMethod") or {}
    if method.get("instanceKey") or method.get("operator") != agg.operator:
        return False
    if agg.operator != "Count" and (method.get("field") or None) != agg.field:
        return False
    mine = _criteria(filter_doc(meter, where))
    return mine is not None and mine == _criteria(stored.get("filter"))
