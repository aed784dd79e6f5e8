"""The series of `POST /v2/events/aggregation` from events, and the alias glob. Pure.

This is the reference path (SEMANTICS "Usage over time"): each group's value is the meter
over that group's events, computed by meters.aggregation.aggregate (the oracle every
faster path is tested against). Empty groups have no value here; the answer writes 0.
"""

import bisect
import re
from collections.abc import Sequence
from decimal import Decimal

from meterline.meters.aggregation import Event, aggregate, value_or_zero
from meterline.meters.spec import MeterSpec

# One meter's column: per group, (value or None, whether the group holds its events).
Column = list[tuple[Decimal | None, bool]]
Window = tuple[str, int, int]


def glob(pattern: str) -> re.Pattern[str]:
    """`*` matches any run of characters (empty too); every other character is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _selects(spec: MeterSpec, e: Event) -> bool:
    return e.name == spec.event_name and spec.passes(e.data)


def column(spec: MeterSpec, events: Sequence[Event], windows: Sequence[Window]) -> Column:
    """The meter over each window's events (windows in order, not overlapping)."""
    starts = [a for _, a, _ in windows]
    per: list[list[Event]] = [[] for _ in windows]
    for e in events:
        i = bisect.bisect_right(starts, e.ts) - 1
        if i >= 0 and e.ts < windows[i][2] and _selects(spec, e):
            per[i].append(e)
    return [(aggregate(spec, evs) if evs else None, bool(evs)) for evs in per]


def by_event(specs: Sequence[MeterSpec], events: Sequence[Event]) -> tuple[list[str], list[Column]]:
    """groupBy `event`: one group per event some meter selects, by timestamp then ref."""
    labels: list[str] = []
    columns: list[Column] = [[] for _ in specs]
    for e in sorted(events, key=lambda ev: (ev.ts, ev.ref)):
        hits = [_selects(spec, e) for spec in specs]
        if not any(hits):
            continue
        labels.append(e.ref)
        for k, spec in enumerate(specs):
            columns[k].append((aggregate(spec, [e]) if hits[k] else None, hits[k]))
    return labels, columns


def points(
    labels: Sequence[str], keys: Sequence[str], columns: Sequence[Column], *, fill: bool
) -> list[dict[str, object]]:
    """`dataPoints`: groups holding events (every group with fill), values 0 when empty."""
    out: list[dict[str, object]] = []
    for i, group in enumerate(labels):
        if fill or any(col[i][1] for col in columns):
            values = {k: value_or_zero(col[i][0]) for k, col in zip(keys, columns, strict=True)}
            out.append({"group": group, "values": values})
    return out
