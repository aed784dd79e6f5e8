"""Billing cycles: boundaries on billingDay, clamping, tiling, proration, open-ended contracts."""

import calendar
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterline.invoices.cycles import (
    add_months,
    billing_day,
    closed_cycles,
    cycle_at,
    cycles,
    proration_factor,
)
from meterline.kit.times import from_us, to_us
from tests.invoices.factories import contract, line, per_unit


def us(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=UTC))


def spans(c: dict[str, object], until: str | None = None) -> list[tuple[str, str]]:
    found = cycles(c, until=None if until is None else us(until))
    return [(from_us(x.start).isoformat()[:19], from_us(x.end).isoformat()[:19]) for x in found]


@pytest.mark.parametrize(
    ("start", "end", "day", "expected"),
    [
        # starts on the boundary: full months
        (
            "2026-01-01",
            "2026-04-01",
            None,
            [("2026-01-01", "2026-02-01"), ("2026-02-01", "2026-03-01"), ("2026-03-01", "2026-04-01")],
        ),
        # starts mid-month: a partial first cycle, a partial last one
        (
            "2026-01-15T12:00:00",
            "2026-03-10",
            1,
            [("2026-01-15T12:00:00", "2026-02-01"), ("2026-02-01", "2026-03-01"), ("2026-03-01", "2026-03-10")],
        ),
        # billingDay 15
        (
            "2026-01-01",
            "2026-03-01",
            15,
            [("2026-01-01", "2026-01-15"), ("2026-01-15", "2026-02-15"), ("2026-02-15", "2026-03-01")],
        ),
        # billingDay 31 clamps to the month's last day
        (
            "2026-01-31",
            "2026-05-31",
            31,
            [
                ("2026-01-31", "2026-02-28"),
                ("2026-02-28", "2026-03-31"),
                ("2026-03-31", "2026-04-30"),
                ("2026-04-30", "2026-05-31"),
            ],
        ),
        # leap year
        (
            "2028-02-01",
            "2028-03-31",
            30,
            [("2028-02-01", "2028-02-29"), ("2028-02-29", "2028-03-30"), ("2028-03-30", "2028-03-31")],
        ),
        # a contract shorter than one cycle
        ("2026-01-05", "2026-01-20", 1, [("2026-01-05", "2026-01-20")]),
        # an empty contract
        ("2026-01-05", "2026-01-05", 1, []),
    ],
)
def test_cycle_boundaries(start: str, end: str, day: int | None, expected: list[tuple[str, str]]) -> None:
    c = contract(
        line(per_unit("1"), billing_day=day),
        start=start + ("" if "T" in start else "T00:00:00") + "Z",
        end=end + "T00:00:00Z",
    )
    got = spans(c)
    want = [(a if "T" in a else a + "T00:00:00", b if "T" in b else b + "T00:00:00") for a, b in expected]
    assert got == want


def test_billing_day_comes_from_the_first_line() -> None:
    c = contract(line(per_unit("1"), billing_day=10), line(per_unit("1"), billing_day=20))
    assert billing_day(c) == 10
    assert billing_day(contract()) == 1
    grouped = contract(groups=[{"displayName": "g", "products": [line(per_unit("1"), billing_day=7)]}])
    assert billing_day(grouped) == 7


def test_calendar_alignment_puts_boundaries_on_the_first() -> None:
    c = contract(
        line(per_unit("1"), billing_day=15, calendar_aligned=True),
        start="2026-01-10T00:00:00Z",
        end="2026-03-01T00:00:00Z",
    )
    assert spans(c) == [
        ("2026-01-10T00:00:00", "2026-02-01T00:00:00"),
        ("2026-02-01T00:00:00", "2026-03-01T00:00:00"),
    ]
    in_group = contract(
        groups=[{"displayName": "g", "isCalendarAligned": True, "products": [line(per_unit("1"), billing_day=15)]}]
    )
    assert billing_day(in_group) == 1


def test_open_ended_contract_needs_until_and_includes_the_open_cycle() -> None:
    c = contract(line(per_unit("1")), start="2026-01-01T00:00:00Z", end=None)
    with pytest.raises(ValueError):
        cycles(c)
    got = spans(c, until="2026-03-10T00:00:00")
    assert got[-1] == ("2026-03-01T00:00:00", "2026-04-01T00:00:00")
    assert len(got) == 3
    assert [x.index for x in closed_cycles(c, until=us("2026-03-10T00:00:00"))] == [0, 1]
    assert [x.index for x in closed_cycles(c, until=us("2026-03-01T00:00:00"))] == [0, 1]


def test_cycle_at() -> None:
    c = contract(line(per_unit("1"), billing_day=15), start="2026-01-01T00:00:00Z", end="2026-03-01T00:00:00Z")
    found = cycle_at(c, us("2026-01-20T00:00:00"))
    assert found is not None
    assert (found.index, from_us(found.start).day, from_us(found.end).day) == (1, 15, 15)
    assert cycle_at(c, us("2026-03-01T00:00:00")) is None
    assert cycle_at(c, us("2025-12-31T00:00:00")) is None


def test_proration_factor_is_the_ratio_of_seconds() -> None:
    c = contract(line(per_unit("1")), start="2026-01-15T00:00:00Z", end="2026-03-10T00:00:00Z", prorate=True)
    first, middle, last = cycles(c)
    assert proration_factor(c, first) == Fraction(17, 31)
    assert proration_factor(c, middle) == 1
    assert proration_factor(c, last) == Fraction(9, 31)
    c["shouldProRateInvoices"] = False
    assert proration_factor(c, first) == 1


def test_add_months_clamps_the_day() -> None:
    jan31 = us("2026-01-31T10:00:00")
    assert from_us(add_months(jan31, 1)).isoformat()[:19] == "2026-02-28T10:00:00"
    assert from_us(add_months(jan31, 2)).isoformat()[:19] == "2026-03-31T10:00:00"
    assert from_us(add_months(jan31, 13)).isoformat()[:19] == "2027-02-28T10:00:00"


instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=200, deadline=None)
@given(start=instants, length_days=st.integers(0, 800), day=st.integers(1, 31), extra=st.integers(0, 86_399))
def test_cycles_tile_the_contract(start: datetime, length_days: int, day: int, extra: int) -> None:
    end = start + timedelta(days=length_days, seconds=extra)
    c = contract(line(per_unit("1"), billing_day=day), start=start, end=end)
    found = cycles(c)
    if to_us(end) <= to_us(start):
        assert found == []
        return
    assert found[0].start == to_us(start)
    assert found[-1].end == to_us(end)
    for k, cyc in enumerate(found):
        assert cyc.index == k
        assert cyc.start < cyc.end
        assert cyc.full_start <= cyc.start < cyc.end <= cyc.full_end
        assert 0 < cyc.proration <= 1
        for edge in (cyc.full_start, cyc.full_end):
            d = from_us(edge)
            assert (d.hour, d.minute, d.second, d.microsecond) == (0, 0, 0, 0)
            assert d.day == min(day, calendar.monthrange(d.year, d.month)[1])
    for a, b in itertools.pairwise(found):
        assert a.end == b.start  # no gap, no overlap
        assert not (a.is_partial and a.index > 0 and b.index < len(found) - 1)  # only the ends are partial


@settings(max_examples=100, deadline=None)
@given(start=instants, day=st.integers(1, 31), at_days=st.integers(0, 400))
def test_open_ended_cycles_are_a_prefix_of_longer_runs(start: datetime, day: int, at_days: int) -> None:
    c = contract(line(per_unit("1"), billing_day=day), start=start, end=None)
    until = to_us(start) + at_days * 86_400_000_000 + 1
    short = cycles(c, until=until)
    long = cycles(c, until=until + 90 * 86_400_000_000)
    assert long[: len(short)] == short
    assert short[-1].start < until <= short[-1].end
