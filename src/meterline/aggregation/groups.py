"""Calendar groups of the usage-over-time series. Pure, no I/O.

SEMANTICS "Usage over time": `day` | `month` | `quarter` | `year` groups are UTC calendar
windows labelled `2026-11-03`, `2026-11`, `2026-Q4`, `2026`. Instants are integer
microseconds UTC; month steps reuse contracts/windows.add_months_dt (one copy).
"""

from collections.abc import Iterator
from datetime import datetime

from meterline.contracts.windows import DAY_US, add_months_dt
from meterline.kit.times import from_us, to_us

CALENDAR = ("day", "month", "quarter", "year")
GROUP_BYS = ("event", *CALENDAR)
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def group_start(ts_us: int, by: str) -> int:
    """The start of the calendar group holding ts_us."""
    if by == "day":
        return ts_us - ts_us % DAY_US
    d = from_us(ts_us)
    month = d.month if by == "month" else (d.month - 1) // 3 * 3 + 1 if by == "quarter" else 1
    return to_us(datetime(d.year, month, 1, tzinfo=d.tzinfo))


def next_start(start_us: int, by: str) -> int:
    """The start of the group after the one starting at start_us."""
    if by == "day":
        return start_us + DAY_US
    return to_us(add_months_dt(from_us(start_us), _MONTHS[by]))


def label(start_us: int, by: str) -> str:
    """`2026-11-03`, `2026-11`, `2026-Q4` or `2026` for the group starting at start_us."""
    d = from_us(start_us)
    if by == "day":
        return d.strftime("%Y-%m-%d")
    if by == "month":
        return d.strftime("%Y-%m")
    if by == "quarter":
        return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year:04d}"


def windows(start_us: int, end_us: int, by: str) -> Iterator[tuple[str, int, int]]:
    """(label, a, b) of every group meeting [start_us, end_us), in order, each clipped to it."""
    g = group_start(start_us, by)
    while g < end_us:
        nxt = next_start(g, by)
        yield label(g, by), max(g, start_us), min(nxt, end_us)
        g = nxt


def count(start_us: int, end_us: int, by: str) -> int:
    """How many groups windows() yields (cheap upper bound check before building them)."""
    if end_us <= start_us:
        return 0
    if by == "day":
        return (end_us - 1) // DAY_US - start_us // DAY_US + 1
    a, b = from_us(start_us), from_us(end_us - 1)
    months = (b.year - a.year) * 12 + b.month - a.month
    step = _MONTHS[by]
    if by == "month":
        return months + 1
    first = (a.month - 1) // step if by == "quarter" else 0
    last = (a.month - 1 + months) // step if by == "quarter" else b.year - a.year
    return last - first + 1
