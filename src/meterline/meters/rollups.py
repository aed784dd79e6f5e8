"""Rollup state: mergeable per-bucket summaries of a meter. Pure (the SQL is in usage/).

A bucket's state (`Acc`) holds what every operator needs and merges associatively:
Count n, valued count nv, exact sum, min, max, first and last (timestamp, ref, value),
and the span of the bucket's events: their earliest and latest timestamps (lo, hi), which
let a read take a bucket at a window's edge whole when all its events lie inside.
Distinct keeps its values separately (value -> number of events carrying it), so a
union over buckets stays exact. Buckets are hours (level 0) and days (level 1), aligned
on the Unix epoch in UTC.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.meters.aggregation import EXACT, ZERO, average
from meterline.meters.spec import NO_INSTANCE, MeterSpec

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
    lo: int | None = None  # earliest event timestamp (µs) of the bucket (None: no event)
    hi: int | None = None  # latest

    def merge(self, o: "Acc") -> None:
        self.n += o.n
        if o.lo is not None and (self.lo is None or o.lo < self.lo):
            self.lo = o.lo
        if o.hi is not None and (self.hi is None or o.hi > self.hi):
            self.hi = o.hi
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


def _add_count(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1


def _add_sum(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1
    if value is not None:
        acc.nv += 1
        acc.total = EXACT.add(acc.total, value)


def _add_max(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1
    if value is not None:
        acc.nv += 1
        if acc.vmax is None or value > acc.vmax:
            acc.vmax = value


def _add_min(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1
    if value is not None:
        acc.nv += 1
        if acc.vmin is None or value < acc.vmin:
            acc.vmin = value


def _add_first(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1
    if value is not None:
        acc.nv += 1
        if acc.first is None or (ts, ref) < acc.first[:2]:
            acc.first = (ts, ref, value)


def _add_last(acc: Acc, ts: int, ref: str, value: Decimal | None) -> None:
    acc.n += 1
    if value is not None:
        acc.nv += 1
        if acc.last is None or (ts, ref) > acc.last[:2]:
            acc.last = (ts, ref, value)


# Each operator maintains only the fields it reads (the others keep their defaults).
_ADDERS = {
    "Count": _add_count,
    "Distinct": _add_count,
    "Sum": _add_sum,
    "Average": _add_sum,
    "Max": _add_max,
    "Min": _add_min,
    "First": _add_first,
    "Last": _add_last,
}


def compute(spec: MeterSpec, events: Iterable[tuple[int, str, str, Any]]) -> Delta:
    """events: (ts, ref, alias, data) of events already known to carry the meter's name.

    Events are summed into hour buckets, then hour buckets into day buckets.
    """
    hours: dict[Key, Acc] = {}
    distinct: dict[tuple[str, int, int, str, str], int] = {}
    op = spec.operator
    add = _ADDERS[op]
    is_distinct = op == "Distinct"
    wants_value = op not in ("Count", "Distinct")
    passes = spec.predicate
    no_instance = spec.instance_key is None
    for ts, ref, alias, data in events:
        if passes is not None and not passes(data):
            continue
        inst = NO_INSTANCE if no_instance else spec.instance(data)
        key = (alias, 0, ts - ts % HOUR_US, inst)
        acc = hours.get(key)
        if acc is None:
            acc = hours[key] = Acc(lo=ts, hi=ts)
        elif ts < acc.lo:  # type: ignore[operator]
            acc.lo = ts
        elif ts > acc.hi:  # type: ignore[operator]
            acc.hi = ts
        add(acc, ts, ref, spec.value(data) if wants_value else None)
        if is_distinct:
            dv = spec.distinct_value(data)
            if dv is not None:
                for level, size in LEVELS:
                    dkey = (alias, level, ts - ts % size, inst, dv)
                    distinct[dkey] = distinct.get(dkey, 0) + 1
    accs: dict[Key, Acc] = dict(hours)
    for (alias, _lv, bucket, inst), acc in hours.items():
        dkey4 = (alias, 1, bucket - bucket % DAY_US, inst)
        day = accs.get(dkey4)
        if day is None:  # a copy of its first hour (the hour's Acc stays its own)
            accs[dkey4] = Acc(acc.n, acc.nv, acc.total, acc.vmin, acc.vmax, acc.first, acc.last, acc.lo, acc.hi)
        else:
            day.merge(acc)
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
