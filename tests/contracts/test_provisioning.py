"""In force and provisioned amounts (pure)."""

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from meterline.contracts import provisioning as prov
from meterline.contracts.windows import DAY_US

decimals = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=Decimal("0.000001"), max_value=10**6, places=6, allow_nan=False, allow_infinity=False)


def line(**kw: Any) -> dict[str, Any]:
    return {"displayName": "x", "scheduling": {"duration": {"unit": "MONTH", "value": 0}}, **kw}


def test_contract_in_force() -> None:
    assert prov.contract_in_force("Active", 10, None, 10)
    assert prov.contract_in_force("PendingTermination", 10, 20, 19)
    assert not prov.contract_in_force("Active", 10, 20, 20)
    assert not prov.contract_in_force("Active", 10, 20, 9)
    for status in ("InReview", "Inactive", "Expired", "Terminated", "Error"):
        assert not prov.contract_in_force(status, 10, None, 15)


def test_termination_reads_pending_then_terminated_and_ends_the_contract() -> None:
    assert prov.status_at("Active", None, 5) == "Active"
    assert prov.status_at("Active", 100, 99) == "PendingTermination"
    assert prov.status_at("Active", 100, 100) == "Terminated"
    assert prov.effective_end(None, 100) == 100
    assert prov.effective_end(50, 100) == 50
    assert prov.effective_end(200, 100) == 100
    assert prov.effective_end(200, None) == 200


def test_line_duration_limits_the_line() -> None:
    week_line = line(scheduling={"duration": {"unit": "WEEK", "value": 1}})
    assert prov.line_in_force(week_line, 0, 7 * DAY_US - 1)
    assert not prov.line_in_force(week_line, 0, 7 * DAY_US)
    assert prov.line_in_force(line(), 0, 10**15)


@given(units=decimals)
def test_units_commitment(units: Decimal) -> None:
    assert prov.provisioned(line(commitment={"units": units})) == units
    assert prov.provisioned(line(commitment={"units": units, "type": "UNITS"})) == units


@given(price=decimals, unit_price=positive)
def test_price_commitment_on_per_unit(price: Decimal, unit_price: Decimal) -> None:
    per_unit = line(
        pricing={"type": "PER_UNIT", "price": unit_price}, commitment={"units": 0, "price": price, "type": "PRICE"}
    )
    assert prov.provisioned(per_unit) == price / unit_price
    tiered = line(pricing={"type": "TIERED", "tiers": []}, commitment={"units": 5, "price": price, "type": "PRICE"})
    assert prov.provisioned(tiered) == 0


@given(units=decimals, own=st.one_of(st.none(), decimals))
def test_group_commitment_applies_to_lines_without_their_own(units: Decimal, own: Decimal | None) -> None:
    group = {"displayName": "g", "products": [], "commitment": {"units": units, "overageStrategy": "BLOCK"}}
    item = line(commitment=None if own is None else {"units": own})
    assert prov.provisioned(item, group) == (units if own is None else own)
    assert prov.overage_strategy(item, group) == ("BLOCK" if own is None else "IGNORE")
    assert prov.provisioned(line()) == 0 and prov.overage_strategy(line()) == "IGNORE"


def test_usage_step_precedence() -> None:
    commitment = {"units": 1, "scheduling": {"duration": {"unit": "WEEK", "value": 2}}}
    assert (
        prov.usage_step(line(pricing={"type": "PER_UNIT", "price": 1, "usageReset": 3}, commitment=commitment)).months
        == 3
    )
    assert prov.usage_step(line(pricing={"type": "PER_UNIT", "price": 1}, commitment=commitment)).micros == 14 * DAY_US
    zero = {"units": 1, "scheduling": {"duration": {"unit": "WEEK", "value": 0}}}
    assert prov.usage_step(line(commitment=zero)).months == 1
    assert prov.usage_step(line()).months == 1
