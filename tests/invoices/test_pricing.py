"""Line charges, one rule at a time (table-driven), with exact figures."""

from decimal import Decimal
from typing import Any

import pytest

from meterline.invoices.cycles import cycles
from meterline.invoices.totals import InvoiceAmounts, compute_invoice
from tests.invoices.factories import (
    D,
    commitment,
    contract,
    contract_terms,
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


def invoice(c: dict[str, Any], k: int = 0, usage: dict[int, str] | None = None, balance: str = "0") -> InvoiceAmounts:
    cycle = cycles(c)[k]
    return compute_invoice(c, cycle, {i: D(u) for i, u in (usage or {}).items()}, D(balance))


def charge(pricing: dict[str, Any], u: str, **kw: Any) -> Decimal:
    return invoice(contract(line(pricing, **kw)), 0, {0: u}).lines[0].subtotal


@pytest.mark.parametrize(
    ("pricing", "u", "expected"),
    [
        (per_unit("0.02"), "1234", "24.68"),
        (per_unit("0.02", chunk="100"), "1234", "26.00"),  # 1300 units
        (per_unit("0.02", chunk="100"), "1200", "24.00"),  # already a multiple
        (per_unit("0.02", chunk="100"), "0", "0.00"),
        (per_unit("0.02", chunk="100"), "0.5", "2.00"),
        (per_unit("0.001"), "1234", "1.23"),  # 1.234 rounds half-up
        (per_unit("0.001"), "1235", "1.24"),  # 1.235 -> 1.24 (half-up, not half-even)
        (per_unit("0.02", base="30"), "1234", "30.00"),  # baseAmount is a minimum
        (per_unit("0.02", base="10"), "1234", "24.68"),
        (per_unit("0.02", base="10"), "0", "10.00"),
    ],
)
def test_per_unit(pricing: dict[str, Any], u: str, expected: str) -> None:
    assert charge(pricing, u) == D(expected)


THREE_TIERS = tiered(
    tier("0", "100", rate="1.00"),
    tier("100", "1000", rate="0.50", flat="20"),
    tier("1000", None, rate="5", package="100"),
)


@pytest.mark.parametrize(
    ("u", "expected"),
    [
        ("0", "0.00"),
        ("1", "1.00"),
        ("100", "100.00"),  # the second tier is untouched: no flat fee
        ("101", "120.50"),  # 100 + 1 x 0.50 + 20
        ("1000", "570.00"),  # 100 + 900 x 0.50 + 20
        ("1001", "575.00"),  # + one started package of 100 at 5
        ("1250", "585.00"),  # + ceil(250 / 100) = 3 packages
        ("99.5", "99.50"),
    ],
)
def test_three_tier_graduated(u: str, expected: str) -> None:
    assert charge(THREE_TIERS, u) == D(expected)


@pytest.mark.parametrize(
    ("u", "expected"),
    [
        ("0", "0.00"),
        ("100", "100.00"),  # still in the first tier: 100 x 1
        ("101", "70.50"),  # upgraded to tier 2: 101 x 0.50 + its flat fee 20
        ("1000", "520.00"),  # 1000 x 0.50 + 20
        ("1001", "55.00"),  # upgraded to tier 3: ceil(1001 / 100) = 11 packages x 5
    ],
)
def test_three_tiers_with_auto_upgrade(u: str, expected: str) -> None:
    assert charge({**THREE_TIERS, "autoUpgrade": True}, u) == D(expected)


def test_auto_upgrade_example_from_the_docs() -> None:
    tiers = tiered(tier("0", "100", rate="1"), tier("100", "1000", rate="0.5", flat="10"))
    assert charge(tiers, "150") == D("135.00")
    assert charge({**tiers, "autoUpgrade": True}, "150") == D("85.00")
    assert charge({**tiers, "autoUpgrade": False}, "150") == D("135.00")


def test_tiered_base_amount_and_gaps() -> None:
    assert charge(tiered(tier("0", "10", rate="1"), base="25"), "3") == D("25.00")
    # a tier without rate bills only its flat fee; units outside every tier bill nothing
    assert charge(tiered(tier("0", "10", flat="7"), tier("20", None, rate="1")), "15") == D("7.00")


@pytest.mark.parametrize(
    ("pricing", "commit", "u", "subtotal", "overage"),
    [
        (per_unit("0.10"), commitment("10000", "800"), "12345", "1034.50", "234.50"),
        (per_unit("0.10"), commitment("10000", "800"), "9000", "800.00", "0.00"),
        (per_unit("0.10"), commitment("10000", "800"), "0", "800.00", "0.00"),
        (per_unit("0.10"), commitment("10000"), "10001", "0.10", "0.10"),  # no price: committed units are free
        (per_unit("0.10", chunk="1000"), commitment("10000", "800"), "10001", "900.00", "100.00"),
        # the overage is billed by the line's pricing from its first tier
        (THREE_TIERS, commitment("1000", "400"), "1101", "520.50", "120.50"),
        # PRICE commitment: a minimum spend; usage priced in full, billed beyond the amount
        (per_unit("0.10"), commitment("0", "800", kind="PRICE"), "12345", "1234.50", "434.50"),
        (per_unit("0.10"), commitment("0", "800", kind="PRICE"), "5000", "800.00", "0.00"),
    ],
)
def test_commitments(pricing: dict[str, Any], commit: dict[str, Any], u: str, subtotal: str, overage: str) -> None:
    inv = invoice(contract(line(pricing, commitment=commit)), 0, {0: u})
    assert (inv.lines[0].subtotal, inv.lines[0].overage) == (D(subtotal), D(overage))
    assert (inv.subtotal, inv.overage) == (D(subtotal), D(overage))


def test_commitment_with_base_amount_is_a_floor_not_overage() -> None:
    inv = invoice(contract(line(per_unit("0.10", base="900"), commitment=commitment("100", "800"))), 0, {0: "150"})
    assert (inv.lines[0].subtotal, inv.lines[0].overage) == (D("900.00"), D("5.00"))


def test_group_commitment_is_shared_and_billed_once() -> None:
    group = {
        "displayName": "API",
        "commitment": {"units": D("1000"), "price": D("50"), "type": "UNITS"},
        "products": [line(per_unit("0.10"), name="a"), line(per_unit("0.20"), name="b")],
    }
    c = contract(line(one_time("5")), groups=[group])
    inv = invoice(c, 0, {1: "600", 2: "700"})  # 1300 units against 1000: b's last 300 are overage
    assert [x.subtotal for x in inv.lines] == [D("5.00"), D("50.00"), D("60.00")]
    assert [x.overage for x in inv.lines] == [D("0.00"), D("0.00"), D("60.00")]
    assert inv.overage == D("60.00")


def test_group_base_amount() -> None:
    group = {"displayName": "API", "baseAmount": D("100"), "products": [line(per_unit("1")), line(per_unit("2"))]}
    inv = invoice(contract(groups=[group]), 0, {0: "10", 1: "20"})
    assert [x.subtotal for x in inv.lines] == [D("60.00"), D("40.00")]


def test_one_time_in_the_first_cycle_only() -> None:
    c = contract(line(one_time("500")))
    assert [invoice(c, k).subtotal for k in range(3)] == [D("500.00"), D("0.00"), D("0.00")]


def test_contract_terms_installments() -> None:
    terms = contract_terms(
        "12000",
        [("2026-01-01T00:00:00Z", "4000"), ("2026-04-01T00:00:00Z", "4000"), ("2026-07-15T00:00:00Z", "4000")],
    )
    c = contract(line(terms))
    got = [invoice(c, k).subtotal for k in range(8)]
    assert got == [D(x) for x in ["4000.00", "0.00", "0.00", "4000.00", "0.00", "0.00", "4000.00", "0.00"]]
    # without installments: the price in the first cycle
    plain = contract(line(contract_terms("12000")))
    assert [invoice(plain, k).subtotal for k in range(2)] == [D("12000.00"), D("0.00")]


def test_contract_terms_installments_outside_the_contract() -> None:
    terms = contract_terms(
        "300", [("2025-12-01T00:00:00Z", "100"), ("2026-02-10T00:00:00Z", "100"), ("2026-09-01T00:00:00Z", "100")]
    )
    c = contract(line(terms), end="2026-03-01T00:00:00Z")
    assert [invoice(c, k).subtotal for k in range(2)] == [D("100.00"), D("200.00")]


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("MONTH", 1, ["99.99", "99.99", "99.99", "99.99"]),
        ("MONTH", 3, ["99.99", "0.00", "0.00", "99.99"]),
        ("YEAR", 1, ["99.99", "0.00", "0.00", "0.00"]),
        ("WEEK", 1, ["499.95", "399.96", "399.96", "499.95"]),  # Jan 1, 8, 15, 22, 29 ...
        ("DAY", 2, ["1599.84", "1399.86", "1499.85", "1499.85"]),  # Jan 1, 3, ..; Mar 2, ..; Apr 1, ..
    ],
)
def test_subscription_cadence(unit: str, value: int, expected: list[str]) -> None:
    c = contract(line(subscription("99.99", unit, value)))
    assert [invoice(c, k).subtotal for k in range(4)] == [D(x) for x in expected]


def test_subscription_periods_count_from_start_date_not_cycles() -> None:
    # periods start Jan 20, Feb 20, ...; cycles on the 1st: one period starts in every cycle
    c = contract(line(subscription("10"), billing_day=1), start="2026-01-20T00:00:00Z", end="2026-04-01T00:00:00Z")
    assert [invoice(c, k).subtotal for k in range(3)] == [D("10.00")] * 3


@pytest.mark.parametrize(
    ("pricing", "expected_discount"),
    [
        (subscription("99.99", discount=discount("PERCENTAGE", "15")), "15.00"),  # 14.9985
        (subscription("99.99", discount=discount("FIXED", "20")), "20.00"),
        (subscription("99.99", discount=discount("FIXED", "150")), "99.99"),  # at most the charge
        (subscription("99.99", discount=discount("PERCENTAGE", "120")), "99.99"),
        (one_time("200", discount=discount("PERCENTAGE", "10")), "20.00"),
        (one_time("0", discount=discount("FIXED", "10")), "0.00"),  # nothing to discount
    ],
)
def test_discounts(pricing: dict[str, Any], expected_discount: str) -> None:
    inv = invoice(contract(line(pricing)))
    gross = inv.lines[0].subtotal
    assert inv.lines[0].discount == D(expected_discount)
    assert inv.subtotal == gross  # charges stay gross
    assert inv.discount == D(expected_discount)
    assert inv.total == gross - D(expected_discount)


def test_recurring_discount_applies_in_the_first_cycles_only() -> None:
    c = contract(line(subscription("99.99", discount=discount("PERCENTAGE", "15", recurring=2))))
    assert [invoice(c, k).discount for k in range(3)] == [D("15.00"), D("15.00"), D("0.00")]
    assert [invoice(c, k).total for k in range(3)] == [D("84.99"), D("84.99"), D("99.99")]
    forever = contract(line(subscription("10", discount=discount("FIXED", "1"))))
    assert [invoice(forever, k).discount for k in range(12)] == [D("1.00")] * 12


def test_discount_on_a_usage_line_is_ignored() -> None:
    pricing = per_unit("1")
    pricing["discount"] = discount("FIXED", "5")
    assert invoice(contract(line(pricing)), 0, {0: "10"}).discount == D("0.00")


def test_fixed_deduction_split_over_installments() -> None:
    c = contract(line(subscription("500")), line(fixed_deduction("100", installments=3)))
    got = [invoice(c, k).lines[1].discount for k in range(4)]
    assert got == [D("33.34"), D("33.33"), D("33.33"), D("0.00")]
    assert sum(got) == D("100")
    assert invoice(c, 0).total == D("466.66")
    assert invoice(c, 0).lines[1].total == D("-33.34")


def test_deductions_without_installments_apply_once() -> None:
    c = contract(line(subscription("500")), line(fixed_deduction("50")), line(percentage_deduction("10")))
    first = invoice(c, 0)
    assert [x.discount for x in first.lines] == [D("0.00"), D("50.00"), D("50.00")]
    assert first.total == D("400.00")
    for k in (1, 2):
        assert invoice(c, k).discount == D("0.00")
    zero = contract(line(subscription("500")), line(fixed_deduction("50", installments=0)))
    assert [invoice(zero, k).discount for k in range(2)] == [D("50.00"), D("0.00")]


def test_percentage_deduction_with_installments() -> None:
    c = contract(line(subscription("500")), line(percentage_deduction("10", installments=4)))
    assert [invoice(c, k).discount for k in range(5)] == [D("12.50")] * 4 + [D("0.00")]


def test_deductions_never_make_the_total_negative() -> None:
    c = contract(line(subscription("30", discount=discount("FIXED", "10"))), line(fixed_deduction("50")))
    inv = invoice(c)
    assert (inv.subtotal, inv.discount, inv.total) == (D("30.00"), D("30.00"), D("0.00"))
    assert inv.lines[1].discount == D("20.00")


@pytest.mark.parametrize(
    ("balance", "credits_used", "total"),
    [
        ("0", "0.00", "150.00"),
        ("100", "100.00", "50.00"),
        ("150", "150.00", "0.00"),
        ("500", "150.00", "0.00"),
        ("12.345", "12.34", "137.66"),
    ],
)
def test_credits(balance: str, credits_used: str, total: str) -> None:
    inv = invoice(contract(line(subscription("150"))), 0, balance=balance)
    assert (inv.credits_used, inv.total, inv.amount) == (D(credits_used), D(total), D(total))


def test_credits_apply_after_discounts() -> None:
    c = contract(line(subscription("100", discount=discount("FIXED", "30"))))
    inv = invoice(c, 0, balance="1000")
    assert (inv.subtotal, inv.discount, inv.credits_used, inv.total) == (D("100.00"), D("30.00"), D("70.00"), D("0.00"))


def test_proration_of_recurring_charges() -> None:
    c = contract(
        line(subscription("310")),
        line(per_unit("1", base="62"), commitment=commitment("100", "31")),
        line(one_time("100")),
        line(per_unit("1")),
        start="2026-01-15T00:00:00Z",
        end="2026-03-10T00:00:00Z",
        prorate=True,
    )
    first = invoice(c, 0, {1: "0", 3: "5"})  # 17 of 31 days
    assert [x.subtotal for x in first.lines] == [D("170.00"), D("34.00"), D("100.00"), D("5.00")]
    last = invoice(c, 2, {1: "0"})  # Mar 1 - Mar 10: 9 of 31 days; no subscription period starts in it
    assert [x.subtotal for x in last.lines] == [D("0.00"), D("18.00"), D("0.00"), D("0.00")]
    c["shouldProRateInvoices"] = False
    assert [x.subtotal for x in invoice(c, 0, {1: "0"}).lines] == [D("310.00"), D("62.00"), D("100.00"), D("0.00")]


def test_weekly_subscription_is_not_prorated_twice() -> None:
    c = contract(line(subscription("7", "WEEK", 1)), start="2026-01-15T00:00:00Z", prorate=True)
    assert invoice(c).subtotal == D("21.00")  # Jan 15, 22, 29


def test_line_duration_limits_charges() -> None:
    c = contract(
        line(subscription("10"), duration={"unit": "MONTH", "value": 2}),
        line(per_unit("1"), duration={"unit": "DAY", "value": 40}),
    )
    assert [invoice(c, k, {1: "3"}).subtotal for k in range(3)] == [D("13.00"), D("13.00"), D("0.00")]


def test_line_items_one_per_line_in_contract_order_zero_included() -> None:
    group = {"displayName": "g", "products": [line(per_unit("1"), name="g1"), line(one_time("5"), name="g2")]}
    c = contract(line(one_time("1"), name="a"), line(per_unit("1"), name="b"), groups=[group])
    inv = invoice(c, 1)
    assert [x.display_name for x in inv.lines] == ["a", "b", "g1", "g2"]
    assert [x.subtotal for x in inv.lines] == [D("0.00")] * 4
    assert inv.total == D("0.00")


def test_explicit_nulls_mean_absent() -> None:
    nulls = {
        "displayName": "n",
        "description": None,
        "catalogProductId": None,
        "commitment": None,
        "isCalendarAligned": None,
        "scheduling": {"billingDay": None, "duration": {"unit": "MONTH", "value": 0}},
    }
    c = contract(
        {
            **nulls,
            "pricing": {"type": "PER_UNIT", "price": D("2"), "chunkSize": None, "usageReset": None, "baseAmount": None},
        },
        {
            **nulls,
            "pricing": {
                "type": "SUBSCRIPTION",
                "price": D("5"),
                "subscriptionCadence": {"unit": "MONTH", "value": 1},
                "discount": None,
            },
        },
        {
            **nulls,
            "pricing": {
                "type": "TIERED",
                "tiers": [
                    {"fromInclusive": D("0"), "toExclusive": None, "rate": None, "flatFee": D("3"), "packageSize": None}
                ],
            },
        },
        {**nulls, "pricing": {"type": "CONTRACT_TERMS", "price": D("7"), "installments": None, "discount": None}},
        {**nulls, "pricing": {"type": "FIXED_DEDUCTION", "amountToDeduct": D("1"), "installments": None}},
    )
    c["endDate"] = "2026-03-01T00:00:00.000Z"
    c["shouldProRateInvoices"] = None
    c["productGroups"] = None
    inv = invoice(c, 0, {0: "4", 2: "1"})
    assert [x.subtotal for x in inv.lines] == [D("8.00"), D("5.00"), D("3.00"), D("7.00"), D("0.00")]
    assert (inv.discount, inv.total) == (D("1.00"), D("22.00"))
