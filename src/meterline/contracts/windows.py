"""Month arithmetic from an anchor and usage windows of a contract line. Pure, no I/O.

Instants are integer microseconds UTC. Month steps always count from the anchor
(Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31), never from the previous boundary.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from meterline.kit.times import from_us, to_us

DAY_US = 86_400 * 1_000_000


class Unit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True, slots=True)
class Step:
    """A period length: `value` units (value > 0)."""

    unit: Unit
    value: int

    @property
    def months(self) -> int | None:
        if self.unit is Unit.MONTH:
            return self.value
        if self.unit is Unit.YEAR:
            return 12 * self.value
        return None

    @property
    def micros(self) -> int | None:
        if self.unit is Unit.DAY:
            return self.value * DAY_US
        if self.unit is Unit.WEEK:
            return self.value * 7 * DAY_US
        return None


ONE_MONTH = Step(Unit.MONTH, 1)


def add_months_dt(anchor: datetime, months: int) -> datetime:
    total = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(total, 12)
    month = month0 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def add_months(anchor_us: int, months: int) -> int:
    return to_us(add_months_dt(from_us(anchor_us), months))


def boundary(anchor_us: int, step: Step, k: int) -> int:
    """A + k*L."""
    months = step.months
    if months is not None:
        return add_months(anchor_us, k * months)
    micros = step.micros
    assert micros is not None
    return anchor_us + k * micros


def period_index(anchor_us: int, step: Step, at_us: int) -> int:
    """The k >= 0 with A + k*L <= at < A + (k+1)*L (0 when at is before A)."""
    if at_us <= anchor_us:
        return 0
    micros = step.micros
    if micros is not None:
        return (at_us - anchor_us) // micros
    months = step.months
    assert months is not None
    a, t = from_us(anchor_us), from_us(at_us)
    k = max(((t.year - a.year) * 12 + (t.month - a.month)) // months, 0)
    # The estimate is off by at most one period either way.
    while k > 0 and boundary(anchor_us, step, k) > at_us:
        k -= 1
    while boundary(anchor_us, step, k + 1) <= at_us:
        k += 1
    return k


@dataclass(frozen=True, slots=True)
class Window:
    start_us: int
    end_us: int


_PERIODS: dict[tuple[int, Step], tuple[int, int]] = {}


def window_at(anchor_us: int, step: Step, at_us: int, *, end_us: int | None = None) -> Window:
    """The period [A + k*L, A + (k+1)*L) holding at_us, its end clipped to end_us.

    The last period found per (anchor, step) is remembered: periods partition the time
    from A on, so an instant inside it has the same period (the hot read path asks for
    the current period of the same lines over and over)."""
    key = (anchor_us, step)
    hit = _PERIODS.get(key)
    if hit is not None and hit[0] <= at_us < hit[1]:
        start, stop = hit
    else:
        k = period_index(anchor_us, step, at_us)
        start, stop = boundary(anchor_us, step, k), boundary(anchor_us, step, k + 1)
        if len(_PERIODS) >= 4096:
            _PERIODS.clear()
        _PERIODS[key] = (start, stop)
    if end_us is not None:
        stop = min(stop, end_us)
        start = min(start, stop)
    return Window(start, stop)
