"""Exact decimal JSON: property tests of the encoder/decoder pair."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterline.kit import jsonenc

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-(10**30), max_value=10**30)


@given(decimals)
def test_decimal_round_trips_exactly(value: Decimal) -> None:
    out = jsonenc.loads(jsonenc.dumps({"v": value}))["v"]
    assert Decimal(out) == value


def test_known_texts() -> None:
    assert (
        jsonenc.dumps({"a": Decimal("0.30"), "b": Decimal("1E+2"), "c": Decimal("-0.0")}) == b'{"a":0.3,"b":100,"c":0}'
    )
    assert jsonenc.loads(b'{"x": 0.1}')["x"] == Decimal("0.1")
    total = sum(jsonenc.loads(b"[" + b",".join([b"0.1"] * 10) + b"]"), Decimal(0))
    assert total == 1
    big = 10**40
    assert jsonenc.dumps({"n": big, "l": [-big, 1, True]}) == b'{"n":%d,"l":[%d,1,true]}' % (big, -big)


@pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b"[" * 10_000 + b"]" * 10_000, b"{bad", b""])
def test_rejects_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(jsonenc.JSONDecodeError):
        jsonenc.loads(raw)
