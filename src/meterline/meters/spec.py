"""A meter document (as Vayu shows it) checked and compiled for evaluation. Pure."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.kit import amounts
from meterline.meters.filters import (
    MISSING,
    NUMERIC_OPERATORS,
    EventPredicate,
    Path,
    as_number,
    canonical,
    compile_filter,
    lookup,
    parse_path,
    validate_filter,
)

OPERATORS = ("Count", "Sum", "Distinct", "Max", "Min", "Average", "First", "Last")
VALUED = frozenset(("Sum", "Max", "Min", "Average", "First", "Last"))  # operators that read an amount
NO_INSTANCE = ""  # the instance of events without data[instanceKey] (never a canonical JSON text)


@dataclass(frozen=True, slots=True)
class MeterSpec:
    event_name: str
    operator: str
    field: Path | None
    instance_key: Path | None
    predicate: EventPredicate | None
    compared: tuple[Path, ...] = ()  # the fields its filter compares as numbers

    def passes(self, data: Any) -> bool:
        return self.predicate is None or self.predicate(data)

    def value(self, data: Any) -> Decimal | None:
        """The event's usable numeric value (Sum, Max, Min, Average, First, Last)."""
        return None if self.field is None else as_number(lookup(data, self.field))

    def refusal(self, data: Any) -> str | None:
        """Why ingestion refuses an event of this meter's name (None: it does not): a value
        the meter reads as an amount (its field, when the filter passes, or a field its
        filter compares as a number) is a number outside the numeric domain."""
        paths = self.compared
        if self.field is not None and self.operator in VALUED and self.passes(data):
            paths = (*paths, self.field)
        for path in paths:
            value = lookup(data, path)
            if type(value) is Decimal and amounts.plainly_inside(value):
                continue  # the common case, without building an error
            try:
                amounts.parse(value)
            except amounts.OutOfDomain as exc:
                return f"data.{'.'.join(path)} {exc}"
        return None

    @property
    def reads_amounts(self) -> bool:
        """Whether refusal() can ever refuse (False for Count and Distinct meters without a
        numeric filter)."""
        return bool(self.compared) or (self.field is not None and self.operator in VALUED)

    def distinct_value(self, data: Any) -> str | None:
        """Distinct: the canonical text of data[field]; None when missing or null."""
        if self.field is None:
            return None
        v = lookup(data, self.field)
        return None if v is MISSING else canonical(v)

    def instance(self, data: Any) -> str:
        if self.instance_key is None:
            return NO_INSTANCE
        v = lookup(data, self.instance_key)
        return NO_INSTANCE if v is MISSING else canonical(v)


def compile_meter(doc: Mapping[str, Any]) -> MeterSpec:
    agg = doc["aggregationMethod"]
    field, key = agg.get("field"), agg.get("instanceKey")
    return MeterSpec(
        event_name=doc["eventName"],
        operator=agg["operator"],
        field=parse_path(field) if field else None,
        instance_key=parse_path(key) if key else None,
        predicate=compile_filter(doc.get("filter")),
        compared=_compared(doc.get("filter")),
    )


def _compared(filter_doc: Mapping[str, Any] | None) -> tuple[Path, ...]:
    paths = [
        parse_path(c["field"])
        for cond in (filter_doc or {}).get("conditions") or []
        for c in cond.get("criterions") or []
        if c.get("operator") in NUMERIC_OPERATORS
    ]
    return tuple(dict.fromkeys(paths))


def validate_meter(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(param, message) for every problem; the document has already the right JSON types."""
    problems: list[tuple[str, str]] = []
    agg = doc.get("aggregationMethod") or {}
    op = agg.get("operator")
    if op not in OPERATORS:
        problems.append(("aggregationMethod.operator", f"must be one of {', '.join(OPERATORS)}"))
    for name in ("field", "instanceKey"):
        value = agg.get(name)
        if value is not None:
            try:
                parse_path(value)
            except ValueError:
                problems.append((f"aggregationMethod.{name}", "must be a dotted path into data, e.g. usage.tokens"))
    if op in OPERATORS and op != "Count" and not agg.get("field"):
        problems.append(("aggregationMethod.field", f"is required for the {op} operator"))
    if doc.get("filter") is not None:
        problems += validate_filter(doc["filter"])
    return problems
