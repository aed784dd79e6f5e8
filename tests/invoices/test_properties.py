"""Property tests of the invoice arithmetic (hypothesis)."""

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterline.invoices.amounts import frac, money
from meterline.invoices.cycles import cycles
from meterline.invoices.pricing import per_unit_amount, tiered_amount
from meterline.invoices.totals import compute_invoice, split_evenly
from tests.invoices.factories import (
    commitment,
    contract,
    discount,
    fixed_deduction,
    line,
    one_time,
    per_unit,
    percentage_deduction,
    subscription,
    tier,
    tiered,
)

amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)
usages = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    edges = sorted(set(draw(st.lists(st.integers(1, 50_000), min_size=0, max_size=4))))
    bounds = [0, *edges]
    out = []
    for k, low in enumerate(bounds):
        high = bounds[k + 1] if k + 1 < len(bounds) else None
        out.append(
            tier(
                str(low),
                None if high is None else str(high),
                rate=str(draw(rates)),
                flat=draw(st.sampled_from([None, "0", "5", "12.50"])),
                package=draw(st.sampled_from([None, None, "10", "100"])),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(tiers=tier_lists(), a=usages, b=usages)
def test_graduated_tiers_are_monotone_in_usage(tiers: list[dict[str, Any]], a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    pricing = tiered(*tiers)
    assert tiered_amount(pricing, frac(low)) <= tiered_amount(pricing, frac(high))


@settings(max_examples=300, deadline=None)
@given(tiers=tier_lists(), u=usages)
def test_graduated_tiers_equal_the_sum_of_per_tier_charges(tiers: list[dict[str, Any]], u: Decimal) -> None:
    # without packages and flat fees, graduated pricing is the integral of the rate
    plain = [{k: v for k, v in t.items() if k in ("fromInclusive", "toExclusive", "rate")} for t in tiers]
    expected = Fraction(0)
    for t in plain:
        top = frac(u) if "toExclusive" not in t else min(frac(u), frac(t["toExclusive"]))
        expected += max(top - frac(t["fromInclusive"]), Fraction(0)) * frac(t["rate"])
    assert tiered_amount(tiered(*plain), frac(u)) == expected


@settings(max_examples=300, deadline=None)
@given(price=rates, chunk=st.sampled_from(["1", "10", "100", "0.5", "250"]), u=usages)
def test_per_unit_chunks_round_up(price: Decimal, chunk: str, u: Decimal) -> None:
    pricing = per_unit(str(price), chunk=chunk)
    billed = per_unit_amount(pricing, frac(u))
    if price > 0:
        units = billed / frac(price)
        assert units >= frac(u)
        assert units - frac(u) < frac(chunk)
        assert (units / frac(chunk)).denominator == 1


@settings(max_examples=300, deadline=None)
@given(whole=amounts, n=st.integers(1, 36))
def test_split_evenly_sums_exactly(whole: Decimal, n: int) -> None:
    parts = split_evenly(whole, n)
    assert len(parts) == n
    assert sum(parts) == whole
    assert max(parts) - min(parts) <= Decimal("0.01")


@settings(max_examples=100, deadline=None)
@given(whole=amounts, n=st.integers(1, 12))
def test_fixed_deduction_over_n_cycles_sums_to_the_whole(whole: Decimal, n: int) -> None:
    c = contract(line(subscription("100000")), line(fixed_deduction(str(whole), installments=n)))
    found = cycles(c)
    taken = [compute_invoice(c, cycle).lines[1].discount for cycle in found]
    assert sum(taken) == whole
    assert all(t == 0 for t in taken[n:])


def line_pricings() -> st.SearchStrategy[dict[str, Any]]:
    maybe_discount = st.one_of(
        st.none(),
        st.builds(lambda a, r: discount("FIXED", str(a), r), amounts, st.one_of(st.none(), st.integers(1, 3))),
        st.builds(
            lambda a, r: discount("PERCENTAGE", str(a % 150), r), amounts, st.one_of(st.none(), st.integers(1, 3))
        ),
    )
    return st.one_of(
        st.builds(lambda p, d: one_time(str(p), d), amounts, maybe_discount),
        st.builds(lambda p, d: subscription(str(p), discount=d), amounts, maybe_discount),
        st.builds(lambda p, c: per_unit(str(p), chunk=c), rates, st.sampled_from([None, "10"])),
        tier_lists().map(lambda ts: tiered(*ts)),
        st.builds(lambda a, n: fixed_deduction(str(a), n), amounts, st.sampled_from([None, 1, 3])),
        st.builds(lambda a, n: percentage_deduction(str(a % 100), n), amounts, st.sampled_from([None, 2])),
    )


@st.composite
def contracts(draw: st.DrawFn) -> dict[str, Any]:
    lines = []
    for pricing in draw(st.lists(line_pricings(), min_size=0, max_size=6)):
        commit = None
        if pricing["type"] in ("PER_UNIT", "TIERED") and draw(st.booleans()):
            commit = commitment(str(draw(usages)), str(draw(amounts)), kind=draw(st.sampled_from(["UNITS", "PRICE"])))
        lines.append(line(pricing, commitment=commit, billing_day=draw(st.integers(1, 31))))
    start = draw(st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-15T08:30:00Z", "2026-02-28T00:00:00Z"]))
    return contract(*lines, start=start, end="2026-06-20T00:00:00Z", prorate=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(c=contracts(), k=st.integers(0, 5), data=st.data(), balance=amounts)
def test_invoice_totals_add_up(c: dict[str, Any], k: int, data: st.DataObject, balance: Decimal) -> None:
    found = cycles(c)
    cycle = found[min(k, len(found) - 1)]
    n = len(c["products"])
    usage = {i: data.draw(usages) for i in range(n)}
    inv = compute_invoice(c, cycle, usage, balance)
    assert len(inv.lines) == n
    assert inv.total == inv.subtotal - inv.discount - inv.credits_used + inv.tax
    assert inv.amount == inv.total
    assert inv.tax == 0
    assert inv.subtotal == sum(x.subtotal for x in inv.lines)
    assert inv.discount == sum(x.discount for x in inv.lines)
    assert inv.overage == sum(x.overage for x in inv.lines)
    assert inv.credits_used == min(balance, inv.subtotal - inv.discount)
    assert 0 <= inv.discount <= inv.subtotal
    assert inv.total >= 0
    for x in inv.lines:
        for value in (x.subtotal, x.discount, x.overage):
            assert value == money(frac(value))  # two decimals
            assert value >= 0
        assert x.overage <= x.subtotal
        assert x.discount <= x.subtotal or x.pricing_type.endswith("_DEDUCTION")
