"""kit/amounts.py: the numeric domain, property-tested against an oracle written here."""

import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterline.consumption.rules import usage_percentage
from meterline.invoices.amounts import money
from meterline.kit import amounts
from meterline.kit.decimals import EXACT
from meterline.kit.jsonenc import decimal_text

WIDE = decimal.Context(prec=10_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
MAX = Decimal("999999999999999999.999999999999999999")
TINY = Decimal("1e-18")


def _oracle(value: Decimal) -> bool:
    if not value.is_finite() or WIDE.compare(WIDE.abs(value), Decimal("1e18")) >= 0:
        return False
    scaled = WIDE.multiply(value, Decimal("1e18"))
    return scaled == scaled.to_integral_value(context=WIDE)


decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-(10**19), max_value=10**19, places=20),
    st.builds(lambda d, e: Decimal(d).scaleb(e, context=WIDE), st.integers(-(10**40), 10**40), st.integers(-60, 60)),
)


@given(decimals)
def test_check_agrees_with_the_oracle(value: Decimal) -> None:
    assert amounts.in_domain(value) == _oracle(value)
    assert not amounts.plainly_inside(value) or _oracle(value)  # a sufficient test only
    if _oracle(value):
        assert amounts.check(value) == value
    else:
        with pytest.raises(amounts.OutOfDomain):
            amounts.check(value)


@given(decimals.filter(lambda d: d.is_finite()))
def test_a_number_and_its_string_are_the_same_amount(value: Decimal) -> None:
    for text in (str(value), f"{value:E}", format(value, "f")):
        if _oracle(value):
            assert amounts.parse(text) == amounts.parse(value) == value
        else:
            with pytest.raises(amounts.OutOfDomain):
                amounts.parse(text)
        assert amounts.read(text) == (value if _oracle(value) else None)


@given(st.integers(-(10**30), 10**30))
def test_integers(value: int) -> None:
    assert amounts.in_domain(Decimal(value)) == (abs(value) < 10**18)
    assert amounts.read(value) == (Decimal(value) if abs(value) < 10**18 else None)


@given(st.one_of(st.text(max_size=30), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_non_numbers_are_not_amounts(value: object) -> None:
    try:
        parsed = amounts.parse(value)
    except amounts.OutOfDomain:
        assert isinstance(value, str)  # a decimal literal outside the domain, e.g. "1e99"
        return
    assert parsed is None or (isinstance(value, str) and Decimal(value) == parsed)


def test_edges() -> None:
    for inside in ("999999999999999999.999999999999999999", "-0", "0E-400", "1.000000000000000000000", "2.5E-3"):
        assert amounts.parse(inside) == Decimal(inside)
    assert str(amounts.check(Decimal("-0"))) == "0"
    for outside in ("1e18", "1e-19", "1e999999999", "-1e999999999", "1e-999999999", "NaN", "9" * 4300):
        with pytest.raises(amounts.OutOfDomain):
            amounts.parse(Decimal(outside))
        with pytest.raises(amounts.OutOfDomain):
            amounts.parse(outside if outside != "NaN" else Decimal("NaN"))
    with pytest.raises(amounts.OutOfDomain, match="exponent"):
        amounts.parse("1e99999999999999999999")
    assert amounts.parse("NaN") is None and amounts.parse("Infinity") is None  # not decimal literals
    with pytest.raises(amounts.OutOfDomain):
        amounts.parse(int("9" * 4300))


def test_worst_cases_fit_exact() -> None:
    """docs/semantics.md "Numeric domain": the widest derived figures are exact in EXACT
    (no Rounded signal) and written back exactly; the usage percentage is the exact ratio
    rounded once."""
    EXACT.clear_flags()
    big_sum = EXACT.multiply(MAX, Decimal(2**63))  # 2^63 events of the largest value
    packages = EXACT.divide(big_sum, TINY)  # tier packages of 1e-18 units
    subtotal = money(Fraction(EXACT.multiply(packages, MAX)) * 10**6)  # at the largest rate, a million lines
    assert not EXACT.flags[decimal.Rounded], EXACT.flags
    assert len(big_sum.as_tuple().digits) <= 55 and len(subtotal.as_tuple().digits) <= 90
    smallest_provisioned = decimal.getcontext().divide(TINY, MAX)  # PRICE commitment / pricing.price
    percent = usage_percentage(smallest_provisioned, EXACT.add(big_sum, big_sum))
    ratio = WIDE.divide(WIDE.multiply(EXACT.add(big_sum, big_sum), Decimal(100)), smallest_provisioned)
    assert percent == ratio.quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_UP, context=WIDE)
    for value in (big_sum, percent, subtotal):
        assert Decimal(decimal_text(value)) == value
