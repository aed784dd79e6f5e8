"""The reference aggregator: a meter's value over a list of events, straight from
SEMANTICS.md "Meters". Pure, no I/O, deliberately simple: it is the oracle every faster
path (rollups, usage()) is tested against.
"""

import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.kit.decimals import EXACT
from meterline.meters.spec import MeterSpec, compile_meter

# Exact arithmetic (kit.decimals.EXACT, re-exported here): sums never round.
__all__ = ["EXACT", "ZERO", "Event", "aggregate", "average", "value_or_zero"]
AVERAGE_QUANTUM = Decimal("1e-12")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    ts: int  # microseconds UTC
    ref: str
    alias: str
    data: Any  # dict or None


def quotient(a: Decimal, b: Decimal) -> Decimal:
    """a / b rounded half-even to 12 decimal places (b != 0): every division of the metering rules."""
    return EXACT.divide(a, b).quantize(AVERAGE_QUANTUM, rounding=decimal.ROUND_HALF_EVEN, context=EXACT)


def average(total: Decimal, count: int) -> Decimal:
    """Mean rounded half-even to 12 decimal places."""
    return quotient(total, Decimal(count))


def _group_value(spec: MeterSpec, events: Sequence[Event]) -> Decimal | None:
    op = spec.operator
    if op == "Count":
        return Decimal(len(events))
    if op == "Distinct":
        seen = {spec.distinct_value(e.data) for e in events}
        seen.discard(None)
        return Decimal(len(seen))
    valued = [(e, v) for e in events if (v := spec.value(e.data)) is not None]
    if op == "Sum":
        total = ZERO
        for _, v in valued:
            total = EXACT.add(total, v)
        return total
    if not valued:
        return None
    values = [v for _, v in valued]
    if op == "Max":
        return max(values)
    if op == "Min":
        return min(values)
    if op == "Average":
        total = ZERO
        for v in values:
            total = EXACT.add(total, v)
        return average(total, len(values))
    ordered = sorted(valued, key=lambda ev: (ev[0].ts, ev[0].ref))
    return ordered[0][1] if op == "First" else ordered[-1][1]


def aggregate(
    meter: MeterSpec | Mapping[str, Any],
    events: Iterable[Event],
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    aliases: Iterable[str] | None = None,
) -> Decimal | None:
    """The meter over the events with name == eventName, passing the filter, with
    timestamp in [start_us, end_us) and (when given) customer alias in `aliases`.

    None means "no value" (Max, Min, Average, First, Last over no usable value): the
    consumption figures read it as 0, dry-run shows it as null.
    """
    spec = meter if isinstance(meter, MeterSpec) else compile_meter(meter)
    wanted = None if aliases is None else set(aliases)
    selected = [
        e
        for e in events
        if e.name == spec.event_name
        and (start_us is None or e.ts >= start_us)
        and (end_us is None or e.ts < end_us)
        and (wanted is None or e.alias in wanted)
        and spec.passes(e.data)
    ]
    groups: dict[str, list[Event]] = {}
    for e in selected:
        groups.setdefault(spec.instance(e.data), []).append(e)
    if spec.operator in ("Count", "Sum", "Distinct") and not groups:
        return ZERO
    results = [r for g in groups.values() if (r := _group_value(spec, g)) is not None]
    if not results:
        return None
    total = ZERO
    for r in results:
        total = EXACT.add(total, r)
    return total


def value_or_zero(value: Decimal | None) -> Decimal:
    """SEMANTICS "Empty window": no value counts as 0."""
    return ZERO if value is None else value
