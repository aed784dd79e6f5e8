"""Meter filters and value extraction: pure functions over an event's `data` (no I/O).

SEMANTICS.md "Meters": paths are dotted, a JSON null counts as absent, numbers are JSON
numbers or strings holding a decimal number (never booleans), an event passes a filter
if ANY condition holds and a condition holds if ALL its criterions hold.
"""

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from meterline.kit import amounts
from meterline.kit.jsonenc import decimal_text

CRITERION_OPERATORS = (
    "Equals",
    "DoesntEqual",
    "Has",
    "In",
    "Contains",
    "DoesntContain",
    "LargerThan",
    "LowerThan",
    "LowerEqualTo",
    "LargerEqualTo",
    "Exists",
    "DoesntExists",
)

NUMERIC_OPERATORS = frozenset(("LargerThan", "LowerThan", "LowerEqualTo", "LargerEqualTo"))
MISSING: Any = object()

Path = tuple[str, ...]
Predicate = Callable[[Any], bool]


def parse_path(text: str) -> Path:
    """`usage.tokens` -> ("usage", "tokens"). Raises ValueError on an empty segment."""
    parts = tuple(text.split("."))
    if not text or any(p == "" for p in parts):
        raise ValueError(f"{text!r} is not a dotted path")
    return parts


def lookup(data: Any, path: Path) -> Any:
    """data[a][b]...; MISSING when absent or null on the way."""
    cur = data
    for key in path:
        if not isinstance(cur, dict):
            return MISSING
        cur = cur.get(key, MISSING)
        if cur is MISSING or cur is None:
            return MISSING
    return cur


def as_number(value: Any) -> Decimal | None:
    """A JSON number, or a string holding a decimal number, inside the numeric domain
    (kit/amounts.py); None otherwise (booleans, other text, and numbers outside the
    domain, which ingestion refuses for the meters that read them: stored before a
    meter read them, they are "no usable value")."""
    return amounts.read(value)


def canonical(value: Any) -> str:
    """The canonical text of a JSON value: instance keys and Distinct values compare by it.

    Numbers are compared by value (1, 1.0 and 1e0 are one value); strings keep their
    quotes, so the number 1 and the string "1" differ; objects sort their keys.
    """
    return orjson.dumps(value, default=_num_fragment, option=orjson.OPT_SORT_KEYS).decode()


def _num_fragment(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(decimal_text(obj).encode())
    raise TypeError(type(obj).__name__)


def text_of(value: Any) -> str:
    """The text criterion operators compare: a string as is, a number's exact decimal
    text (no exponent), true/false, or the canonical JSON of an object or array."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int):
        return str(value)
    return canonical(value)


def _criterion(operator: str, value: str) -> Predicate:
    """A predicate over the looked-up field value (MISSING when absent)."""
    if operator == "Exists":
        return lambda v: v is not MISSING
    if operator == "DoesntExists":
        return lambda v: v is MISSING
    if operator == "Equals":
        return lambda v: v is not MISSING and text_of(v) == value
    if operator == "DoesntEqual":
        return lambda v: v is MISSING or text_of(v) != value
    if operator == "In":
        options = frozenset(item.strip() for item in value.split(","))
        return lambda v: v is not MISSING and text_of(v) in options
    if operator == "Contains":
        return lambda v: v is not MISSING and value in text_of(v)
    if operator == "DoesntContain":
        return lambda v: v is MISSING or value not in text_of(v)
    if operator == "Has":
        return lambda v: isinstance(v, list) and any(x is not None and text_of(x) == value for x in v)
    bound = as_number(value)
    compare: Callable[[Decimal, Decimal], bool] = {
        "LargerThan": lambda a, b: a > b,
        "LowerThan": lambda a, b: a < b,
        "LargerEqualTo": lambda a, b: a >= b,
        "LowerEqualTo": lambda a, b: a <= b,
    }[operator]

    def numeric(v: Any) -> bool:
        if bound is None:
            return False
        n = as_number(v)
        return n is not None and compare(n, bound)

    return numeric


EventPredicate = Callable[[Any], bool]


def compile_filter(filter_doc: Mapping[str, Any] | None) -> EventPredicate | None:
    """A predicate over an event's `data` (dict or None); None when the meter has no filter."""
    if not filter_doc:
        return None
    conditions: list[list[tuple[Path, Predicate]]] = []
    for cond in filter_doc.get("conditions") or []:
        crits = [
            (parse_path(c["field"]), _criterion(c["operator"], str(c.get("value") or "")))
            for c in cond.get("criterions") or []
        ]
        conditions.append(crits)

    def passes(data: Any) -> bool:
        return any(all(pred(lookup(data, path)) for path, pred in crits) for crits in conditions)

    return passes


def passes_filter(filter_doc: Mapping[str, Any] | None, data: Any) -> bool:
    pred = compile_filter(filter_doc)
    return True if pred is None else pred(data)


def validate_filter(filter_doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(param, message) of every problem in a filter document."""
    problems: list[tuple[str, str]] = []
    conditions = filter_doc.get("conditions")
    if not isinstance(conditions, Sequence) or isinstance(conditions, str) or not conditions:
        return [("filter.conditions", "must be a non-empty list of conditions")]
    for i, cond in enumerate(conditions):
        crits = cond.get("criterions") if isinstance(cond, Mapping) else None
        if not isinstance(crits, Sequence) or isinstance(crits, str) or not crits:
            problems.append((f"filter.conditions[{i}].criterions", "must be a non-empty list of criterions"))
            continue
        for j, c in enumerate(crits):
            where = f"filter.conditions[{i}].criterions[{j}]"
            if not isinstance(c, Mapping):
                problems.append((where, "must be an object"))
                continue
            field = c.get("field")
            try:
                parse_path(field if isinstance(field, str) else "")
            except ValueError:
                problems.append((f"{where}.field", "must be a dotted path into data"))
            if c.get("operator") not in CRITERION_OPERATORS:
                problems.append((f"{where}.operator", f"must be one of {', '.join(CRITERION_OPERATORS)}"))
            value = c.get("value")
            if c.get("operator") in ("Exists", "DoesntExists"):
                if value is not None and not isinstance(value, str):
                    problems.append((f"{where}.value", "must be a string"))
            elif not isinstance(value, str) or not value:
                problems.append((f"{where}.value", "must be a non-empty string"))
            # A numeric criterion with a non-numeric value is accepted: it never holds
            # (SEMANTICS: "false when either side is not a number"); a number outside the
            # numeric domain is refused like any amount.
            elif c.get("operator") in NUMERIC_OPERATORS:
                try:
                    amounts.parse(value)
                except amounts.OutOfDomain as exc:
                    problems.append((f"{where}.value", str(exc)))
    return problems
