"""The worked examples of docs/semantics.md "Invoices", with the same numbers."""

from decimal import Decimal

from meterline.invoices.cycles import cycles
from meterline.invoices.totals import compute_invoice
from tests.invoices.factories import (
    commitment,
    contract,
    contract_terms,
    discount,
    fixed_deduction,
    line,
    per_unit,
    subscription,
    tier,
    tiered,
)

D = Decimal


def test_example_1_per_unit_with_chunk_size() -> None:
    c = contract(line(per_unit("0.02", chunk="100"), name="API calls"))
    inv = compute_invoice(c, cycles(c)[0], {0: D("1234")})
    assert inv.lines[0].subtotal == D("26.00")  # 1234 -> 1300 units x 0.02
    assert inv.total == D("26.00")


def test_example_2_three_tier_graduated() -> None:
    pricing = tiered(
        tier("0", "100", rate="1.00"),
        tier("100", "1000", rate="0.50", flat="20"),
        tier("1000", None, rate="5", package="100"),
    )
    c = contract(line(pricing, name="Storage"))
    inv = compute_invoice(c, cycles(c)[0], {0: D("1250")})
    # 100 x 1.00 = 100.00; 900 x 0.50 + 20 = 470.00; ceil(250 / 100) = 3 x 5 = 15.00
    assert inv.lines[0].subtotal == D("585.00")


def test_example_3_commitment_with_overage() -> None:
    c = contract(line(per_unit("0.10"), name="Events", commitment=commitment("10000", "800")))
    inv = compute_invoice(c, cycles(c)[0], {0: D("12345")})
    assert (inv.subtotal, inv.overage, inv.total) == (D("1034.50"), D("234.50"), D("1034.50"))
    under = compute_invoice(c, cycles(c)[1], {0: D("9000")})
    assert (under.subtotal, under.overage) == (D("800.00"), D("0.00"))


def test_example_4_subscription_with_percentage_discount() -> None:
    c = contract(line(subscription("99.99", discount=discount("PERCENTAGE", "15", recurring=2)), name="Platform"))
    got = [compute_invoice(c, cycles(c)[k]) for k in range(3)]
    assert [(i.subtotal, i.discount, i.total) for i in got] == [
        (D("99.99"), D("15.00"), D("84.99")),  # 14.9985 rounds half-up to 15.00
        (D("99.99"), D("15.00"), D("84.99")),
        (D("99.99"), D("0.00"), D("99.99")),
    ]


def test_example_5_installments() -> None:
    terms = contract_terms(
        "12000",
        [("2026-01-01T00:00:00Z", "4000"), ("2026-04-01T00:00:00Z", "4000"), ("2026-07-15T00:00:00Z", "4000")],
    )
    c = contract(
        line(terms, name="Implementation"),
        line(subscription("500"), name="Platform"),
        line(fixed_deduction("100", installments=3), name="Goodwill"),
    )
    got = [compute_invoice(c, cycle) for cycle in cycles(c)[:7]]
    assert [i.lines[0].subtotal for i in got] == [D(x) for x in ("4000", "0", "0", "4000", "0", "0", "4000")]
    assert [i.subtotal for i in got] == [D(x) for x in ("4500", "500", "500", "4500", "500", "500", "4500")]
    assert [i.discount for i in got] == [D(x) for x in ("33.34", "33.33", "33.33", "0", "0", "0", "0")]
    assert [i.total for i in got] == [D(x) for x in ("4466.66", "466.67", "466.67", "4500", "500", "500", "4500")]


def test_example_6_credits_applied() -> None:
    c = contract(
        line(subscription("150"), name="Platform"),
        line(per_unit("0.02", chunk="100"), name="API calls"),
        line(fixed_deduction("10"), name="Loyalty"),
    )
    cycle = cycles(c)[0]
    inv = compute_invoice(c, cycle, {1: D("1234")}, credit_balance=D("100"))
    assert (inv.subtotal, inv.discount, inv.credits_used, inv.total) == (
        D("176.00"),
        D("10.00"),
        D("100.00"),
        D("66.00"),
    )
    rich = compute_invoice(c, cycle, {1: D("1234")}, credit_balance=D("500"))
    assert (rich.credits_used, rich.total) == (D("166.00"), D("0.00"))


def test_example_7_proration() -> None:
    c = contract(line(subscription("310"), name="Platform"), start="2026-01-15T00:00:00Z", prorate=True)
    first, second = cycles(c)[:2]
    assert compute_invoice(c, first).subtotal == D("170.00")  # 310 x 17 / 31
    assert compute_invoice(c, second).subtotal == D("310.00")
