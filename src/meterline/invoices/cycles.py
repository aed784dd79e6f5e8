"""Billing cycles of a contract (pure; instants are integer microseconds UTC).

Boundaries fall at 00:00 UTC on the billing day of every month: `scheduling.billingDay` of
the contract's first product line (default 1), clamped to the month's last day (31 gives
Jan 31, Feb 28/29, Mar 31, ...). When that line (or its product group) is
`isCalendarAligned`, the billing day is 1: cycles are calendar months. The first cycle
runs from `startDate` to the first boundary after it; every later cycle from one boundary
to the next; the last one ends at `endDate`. Cycles tile `[startDate, endDate)`.

Each cycle also carries its *full period*: the boundary-to-boundary month it lies in. With
`shouldProRateInvoices`, recurring charges of a partial cycle are multiplied by
`(end - start) / (full_end - full_start)` (the ratio of lengths, in seconds, exact).
"""

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from meterline.invoices.amounts import instant_us
from meterline.invoices.lines import contract_lines
from meterline.kit.times import from_us, to_us

US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class Cycle:
    """One billing cycle `[start, end)`; `index` 0 is the contract's first cycle."""

    index: int
    start: int
    end: int
    full_start: int
    full_end: int

    @property
    def is_partial(self) -> bool:
        return self.start != self.full_start or self.end != self.full_end

    @property
    def proration(self) -> Fraction:
        """Cycle length / full month length (1 for a full cycle)."""
        return Fraction(self.end - self.start, self.full_end - self.full_start)

    @property
    def start_dt(self) -> datetime:
        return from_us(self.start)

    @property
    def end_dt(self) -> datetime:
        return from_us(self.end)


def billing_day(contract: Mapping[str, Any]) -> int:
    lines = contract_lines(contract)
    if not lines:
        return 1
    first = lines[0]
    if first.calendar_aligned:
        return 1
    scheduling = first.product.get("scheduling") or {}
    day = scheduling.get("billingDay")
    if day is None or isinstance(day, bool):
        return 1
    return min(max(int(day), 1), 31)


def add_months(us: int, months: int) -> int:
    """`us` plus whole months counted from it, the day clamped (Jan 31 + 1 month = Feb 28/29)."""
    dt = from_us(us)
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return to_us(dt.replace(year=year, month=month + 1, day=day))


def _boundary(year: int, month: int, day: int) -> int:
    # month may run past 1..12; normalise it.
    year, month0 = divmod(year * 12 + month - 1, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return to_us(datetime(year, month0 + 1, min(day, last), tzinfo=UTC))


def boundary_at_or_before(us: int, day: int) -> int:
    dt = from_us(us)
    b = _boundary(dt.year, dt.month, day)
    return b if b <= us else _boundary(dt.year, dt.month - 1, day)


def boundary_after(us: int, day: int) -> int:
    dt = from_us(us)
    b = _boundary(dt.year, dt.month, day)
    return b if b > us else _boundary(dt.year, dt.month + 1, day)


def contract_start(contract: Mapping[str, Any]) -> int:
    return instant_us(contract["startDate"])


def contract_end(contract: Mapping[str, Any]) -> int | None:
    end = contract.get("endDate")
    return None if end is None else instant_us(end)


def _cycle_from(index: int, start: int, day: int, end: int | None) -> Cycle:
    full_start = boundary_at_or_before(start, day)
    full_end = boundary_after(start, day)
    stop = full_end if end is None else min(full_end, end)
    return Cycle(index, start, stop, full_start, full_end)


def cycles(contract: Mapping[str, Any], *, until: int | None = None) -> list[Cycle]:
    """The contract's cycles that start before `until` (all of them when None).

    An open-ended contract (no endDate) needs `until`; the last cycle returned may then be
    the open one (its end lies after `until`).
    """
    start = contract_start(contract)
    end = contract_end(contract)
    if until is None:
        if end is None:
            raise ValueError("an open-ended contract needs `until`")
        stop = end
    else:
        stop = until if end is None else min(end, until)
    day = billing_day(contract)
    out: list[Cycle] = []
    at = start
    while at < stop:
        cycle = _cycle_from(len(out), at, day, end)
        out.append(cycle)
        at = cycle.end
    return out


def closed_cycles(contract: Mapping[str, Any], *, until: int) -> list[Cycle]:
    """The cycles that end at or before `until` (those an invoice run may issue)."""
    return [c for c in cycles(contract, until=until) if c.end <= until]


def cycle_at(contract: Mapping[str, Any], at: int) -> Cycle | None:
    """The cycle containing instant `at`, or None outside `[startDate, endDate)`."""
    end = contract_end(contract)
    if at < contract_start(contract) or (end is not None and at >= end):
        return None
    return cycles(contract, until=at + 1)[-1]


def proration_factor(contract: Mapping[str, Any], cycle: Cycle) -> Fraction:
    """The factor recurring charges of `cycle` are multiplied by (1 unless prorating)."""
    if not contract.get("shouldProRateInvoices"):
        return Fraction(1)
    return cycle.proration
