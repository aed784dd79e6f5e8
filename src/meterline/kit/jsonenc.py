"""JSON in and out with exact decimals.

In: msgspec with float_hook=Decimal, so `0.1` arrives as Decimal("0.1") from its text,
never through a binary float; NaN/Infinity are not JSON and are rejected.
Out: orjson, with Decimals written as exact JSON numbers through orjson.Fragment
(integers without a fraction, no exponent).
"""

from decimal import Decimal
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


def decimal_text(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise TypeError("non-finite decimal")
        return orjson.Fragment(decimal_text(obj).encode())
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)
