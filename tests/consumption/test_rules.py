"""Consumption figures and merging (pure, property-tested)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterline.consumption import rules

amounts = st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False, allow_infinity=False)
strategies = st.sampled_from([None, "IGNORE", "BLOCK", "UPGRADE_PLAN", "TOP_UP"])


def test_worked_examples() -> None:
    f = rules.figures(provisioned=Decimal(1000), consumed=Decimal(250), strategy="BLOCK")
    assert (f.remaining, f.exceeded, f.usage_percentage, f.has_access) == (750, 0, Decimal("25.00"), True)
    f = rules.figures(provisioned=Decimal(3), consumed=Decimal(2), strategy="BLOCK")
    assert f.usage_percentage == Decimal("66.67")
    f = rules.figures(provisioned=Decimal(8), consumed=Decimal("0.1"), strategy=None)
    assert f.usage_percentage == Decimal("1.25")
    f = rules.figures(provisioned=Decimal(800), consumed=Decimal("0.1"), strategy=None)
    assert f.usage_percentage == Decimal("0.01")  # 0.0125 rounds half-up
    f = rules.figures(provisioned=Decimal(100), consumed=Decimal(150), strategy="BLOCK")
    assert (f.remaining, f.exceeded, f.usage_percentage, f.has_access) == (0, 50, Decimal("150.00"), False)
    assert rules.figures(provisioned=Decimal(100), consumed=Decimal(150), strategy="TOP_UP").has_access is False
    top_up = rules.figures(
        provisioned=Decimal(100), consumed=Decimal(150), strategy="TOP_UP", credit_balance=Decimal("0.01")
    )
    assert top_up.has_access is True
    assert rules.usage_percentage(Decimal(0), Decimal(0)) == 0
    assert rules.usage_percentage(Decimal(0), Decimal("0.001")) == 100


@given(p=amounts, c=amounts, s=strategies, bal=amounts)
def test_figures_invariants(p: Decimal, c: Decimal, s: str | None, bal: Decimal) -> None:
    f = rules.figures(provisioned=p, consumed=c, strategy=s, credit_balance=bal)
    assert f.remaining - f.exceeded == p - c
    assert f.remaining >= 0 and f.exceeded >= 0 and min(f.remaining, f.exceeded) == 0
    assert f.usage_percentage == f.usage_percentage.quantize(Decimal("0.01")) or p == 0
    if p > 0:
        assert abs(f.usage_percentage - c * 100 / p) <= Decimal("0.005")
    if s == "BLOCK":
        assert f.has_access == (c < p)
    elif s == "TOP_UP":
        assert f.has_access == (c < p or bal > 0)
    else:
        assert f.has_access is True


@given(
    lines=st.lists(st.tuples(amounts, strategies, st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=6)
)
def test_merge_adds_and_takes_the_latest_window(lines: list[tuple[Decimal, str | None, int, int]]) -> None:
    shares = [
        rules.LineShare(
            provisioned=p, strategy=s, window_start_us=start, window_end_us=start + 10, contract_start_us=cs, seq=i
        )
        for i, (p, s, cs, start) in enumerate(lines)
    ]
    merged = rules.merge(shares)
    assert merged.provisioned == sum((p for p, _, _, _ in lines), Decimal(0))
    latest = max(shares, key=lambda x: (x.contract_start_us, x.seq))
    assert (merged.window_start_us, merged.window_end_us) == (latest.window_start_us, latest.window_end_us)
    consumed = merged.provisioned + 1
    access = rules.merged_has_access(
        shares, provisioned=merged.provisioned, consumed=consumed, credit_balance=Decimal(0)
    )
    assert access == any(s not in ("BLOCK", "TOP_UP") for _, s, _, _ in lines)


def test_merge_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        rules.merge([])
