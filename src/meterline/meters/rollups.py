"""Rollup state: mergeable per-bucket summaries of a meter. Pure (the SQL is in usage/).

A bucket's state (`Acc`) holds what every operator needs and merges associatively:
Count n, valued count nv, exact sum, min, max, first and last (timestamp, ref, value).
Distinct keeps its values separately (value -> number of events carrying it), so a
union over buckets stays exact. Buckets are hours (level 0) and days (level 1), aligned
on the Unix epoch in UTC.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.meters.aggregation import EXACT, ZERO, average
from meterline.meters.spec import MeterSpec

HOUR_US = 3_600_000_000
DAY_US = 86_400_000_000
LEVELS = ((0, HOUR_US), (1, DAY_US))

# (alias, level, bucket, instance)
Key = tuple[str, int, int, str]
Point = tuple[int, str, Decimal]  # (ts, ref, value)


@dataclass(slots=True)
class Acc:
    n: int = 0
    nv: int = 0
    total: Decimal = ZERO
    vmin: Decimal | None = None
    vmax: Decimal | None = None
    first: Point | None = None
    last: Point | None = None

    def add(self, ts: int, ref: str, value: Decimal | None) -> None:
        self.n += 1
        if value is None:
            return
        self.nv += 1
        self.total = EXACT.add(self.total, value)
        if self.vmin is None or value < self.vmin:
            self.vmin = value
        if self.vmax is None or value > self.vmax:
            self.vmax = value
        if self.first is None or (ts, ref) < self.first[:2]:
            self.first = (ts, ref, value)
        if self.last is None or (ts, ref) > self.last[:2]:
            self.last = (ts, ref, value)

    def merge(self, o: "Acc") -> None:
        self.n += o.n
        if o.nv == 0:
            return
        self.nv += o.nv
        self.total = EXACT.add(self.total, o.total)
        if o.vmin is not None and (self.vmin is None or o.vmin < self.vmin):
            self.vmin = o.vmin
        if o.vmax is not None and (self.vmax is None or o.vmax > self.vmax):
            self.vmax = o.vmax
        if o.first is not None and (self.first is None or o.first[:2] < self.first[:2]):
            self.first = o.first
        if o.last is not None and (self.last is None or o.last[:2] > self.last[:2]):
            self.last = o.last

    def result(self, operator: str) -> Decimal | None:
        if operator == "Count":
            return Decimal(self.n)
        if operator == "Sum":
            return self.total
        if self.nv == 0:
            return None
        if operator == "Max":
            return self.vmax
        if operator == "Min":
            return self.vmin
        if operator == "Average":
            return average(self.total, self.nv)
        point = self.first if operator == "First" else self.last
        return None if point is None else point[2]


@dataclass(slots=True)
class Delta:
    """Rollup contributions of some events to one meter."""

    accs: dict[Key, Acc]
    distinct: dict[tuple[str, int, int, str, str], int]  # (alias, level, bucket, instance, value) -> events


def bucket_of(ts: int, size: int) -> int:
    return ts - ts % size


def compute(spec: MeterSpec, events: Iterable[tuple[int, str, str, Any]]) -> Delta:
    """events: (ts, ref, alias, data) of events already known to carry the meter's name."""
    accs: dict[Key, Acc] = {}
    distinct: dict[tuple[str, int, int, str, str], int] = {}
    is_distinct = spec.operator == "Distinct"
    for ts, ref, alias, data in events:
        if not spec.passes(data):
            continue
        inst = spec.instance(data)
        if is_distinct:
            dv = spec.distinct_value(data)
            value = None
        else:
            dv, value = None, spec.value(data)
        for level, size in LEVELS:
            key = (alias, level, ts - ts % size, inst)
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = Acc()
            acc.add(ts, ref, value)
            if dv is not None:
                dkey = (alias, level, key[2], inst, dv)
                distinct[dkey] = distinct.get(dkey, 0) + 1
    return Delta(accs, distinct)


def finalize(operator: str, per_instance: dict[str, Acc], distinct: dict[str, set[str]]) -> Decimal | None:
    """Combine per-instance states into the meter's value (None: no value)."""
    if operator == "Distinct":
        total = ZERO
        for values in distinct.values():
            total += len(values)
        return total
    results = [r for acc in per_instance.values() if (r := acc.result(operator)) is not None]
    if not results:
        return ZERO if operator in ("Count", "Sum") else None
    out = ZERO
    for r in results:
        out = EXACT.add(out, r)
    return out


def windows(start_us: int, end_us: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Cover [start, end) by raw edge ranges and aligned buckets.

    Returns (raw ranges [a, b) read from stored events, bucket ranges (level, a, b) meaning
    the buckets of that level starting in [a, b)). Raw ranges are only the partial hours
    at the two edges.
    """
    if end_us <= start_us:
        return [], []
    h0 = -(-start_us // HOUR_US) * HOUR_US
    h1 = (end_us // HOUR_US) * HOUR_US
    if h0 >= h1:
        return [(start_us, end_us)], []
    raw = [(a, b) for a, b in ((start_us, h0), (h1, end_us)) if a < b]
    d0 = -(-h0 // DAY_US) * DAY_US
    d1 = (h1 // DAY_US) * DAY_US
    if d0 >= d1:
        return raw, [(0, h0, h1)]
    ranges = [(0, a, b) for a, b in ((h0, d0), (d1, h1)) if a < b]
    ranges.append((1, d0, d1))
    return raw, ranges


def day_buckets(ts_values: Iterator[int] | Iterable[int]) -> set[int]:
    return {bucket_of(ts, DAY_US) for ts in ts_values}
