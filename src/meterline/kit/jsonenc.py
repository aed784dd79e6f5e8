"""JSON in and out with exact decimals.

In: msgspec with float_hook=Decimal, so `0.1` arrives as Decimal("0.1") from its text,
never through a binary float; NaN/Infinity are not JSON and are rejected, and so are
integers of more than 4300 digits and exponents beyond what Decimal holds (msgspec's and
Python's limits), answered as a body that is not JSON.
Out: orjson, with Decimals written as exact JSON numbers through orjson.Fragment
(integers without a fraction, no exponent).
"""

from decimal import Context, Decimal
from typing import Any

import msgspec
import orjson

_decoder = msgspec.json.Decoder(float_hook=Decimal)


class JSONDecodeError(ValueError):
    pass


def loads(data: bytes | str) -> Any:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise JSONDecodeError(str(exc)) from None
    except RecursionError:
        raise JSONDecodeError("JSON is nested too deeply") from None
    except ArithmeticError:  # float_hook: an exponent beyond what Decimal holds (1e99999999999999999999)
        raise JSONDecodeError("a number's exponent is out of range") from None


def decimal_text(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros; never rounds (whatever the context)."""
    if value == 0:
        return "0"
    text = str(value)
    # Fast path: str() already wrote plain notation with no trailing fraction zeros.
    if "E" not in text and ("." not in text or text[-1] != "0"):
        return text
    exact = Context(prec=max(1, len(value.as_tuple().digits)))
    return format(value.normalize(exact), "f")


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise TypeError("non-finite decimal")
        return orjson.Fragment(decimal_text(obj).encode())
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _widen(obj: Any) -> Any:
    """Integers beyond 64 bits (orjson's range) become Decimals, which are written exactly."""
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return Decimal(obj) if not -(2**63) <= obj < 2**64 else obj
    if isinstance(obj, dict):
        return {k: _widen(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_widen(v) for v in obj]
    return obj


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_widen(obj), default=_default, option=orjson.OPT_NON_STR_KEYS)


def dumps_indented(obj: Any) -> str:
    """dumps, indented by 2 (for people to read: the dashboard's JSON views)."""
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_INDENT_2
    return orjson.dumps(_widen(obj), default=_default, option=option).decode()


def canonical(obj: Any) -> bytes:
    """dumps with object keys sorted: equal documents give equal bytes (request hashes)."""
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
    return orjson.dumps(_widen(obj), default=_default, option=option)
