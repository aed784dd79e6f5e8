"""The numeric domain of every amount the API accepts. Pure, no I/O.

An amount is a finite decimal with at most 18 digits before the decimal point and at
most 18 after it (the domain of SQL's NUMERIC(36,18)): |x| < 10^18 and x a whole
multiple of 10^-18. The notation does not matter, only the value: `1e3`, `"2.5E-3"`,
`1.500000000000000000000` (trailing zeros) and `-0` are inside; `1e18`, `1e-19`,
`1 + 1e-400`, `"1e999999999"`, NaN and Infinity are outside. A JSON number and a string
holding the same decimal literal are the same amount.

Why these bounds: every figure derived from accepted amounts then has a known worst case
(docs/semantics.md "Numeric domain"): a sum over 2^63 values (more rows than any table
can hold) stays below 10^37 with 18 decimals, 55 digits; the widest derived figure (an
invoice subtotal of tiered packages) stays under 90 digits. kit.decimals.EXACT carries
400, so nothing derived from accepted data rounds, overflows or raises.

Which amounts may be negative is the caller's rule (the value a meter reads may be;
prices, units and credits may not): `check` only bounds magnitude and scale.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator

INTEGER_DIGITS = 18
SCALE = 18
LIMIT = Decimal(10) ** INTEGER_DIGITS
_INT_LIMIT = 10**INTEGER_DIGITS
RULE = f"a finite decimal with at most {INTEGER_DIGITS} digits before the decimal point and {SCALE} after it"

# A decimal literal as a string: sign, digits with an optional point, optional exponent
# (no spaces, no NaN/Infinity, no underscores).
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ZERO = Decimal(0)


class OutOfDomain(ValueError):
    """A number outside the domain; str() says why, in words fit for an API error."""


def _why(value: Decimal) -> str | None:
    """None when `value` is inside the domain, else the reason. Never raises, whatever
    the exponent (reads only the sign, digits and exponent)."""
    if not value.is_finite():
        return f"must be {RULE} (got {'NaN' if value.is_nan() else 'Infinity'})"
    if not value:
        return None
    if value.adjusted() >= INTEGER_DIGITS:
        return f"must be {RULE}: its absolute value must be below 1e{INTEGER_DIGITS}"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -SCALE:
        trailing = len(digits) - len(bytes(digits).rstrip(b"\0"))
        if exponent + trailing < -SCALE:
            return f"must be {RULE}: it has more than {SCALE} digits after the decimal point"
    return None


def plainly_inside(value: Decimal) -> bool:
    """A fast sufficient test (the usual value of an event): finite, below the bound, and
    written with at most 18 decimals. False does not mean outside (e.g. 1.50000...0)."""
    if not (value.is_finite() and -LIMIT < value < LIMIT):
        return False
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -SCALE


def in_domain(value: Decimal) -> bool:
    return _why(value) is None


def check(value: Decimal | int) -> Decimal:
    """`value` as a Decimal when inside the domain (-0 and 0E-40 read as 0); raises
    OutOfDomain otherwise."""
    if isinstance(value, int):
        if -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        raise OutOfDomain(f"must be {RULE}: its absolute value must be below 1e{INTEGER_DIGITS}")
    why = _why(value)
    if why is not None:
        raise OutOfDomain(why)
    return value if value else _ZERO


def parse(value: Any) -> Decimal | None:
    """The amount a JSON value holds: a JSON number (Decimal or int) or a string holding a
    decimal literal. None when the value is not numeric at all (booleans, other strings,
    objects, null); raises OutOfDomain when it is numeric but outside the domain."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return check(value)
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        try:
            number = Decimal(value)
        except InvalidOperation:  # an exponent beyond what Decimal can hold
            raise OutOfDomain(f"must be {RULE}: its exponent is out of range") from None
        return check(number)
    return None


def read(value: Any) -> Decimal | None:
    """parse() for values already stored: None ("no usable value") when not numeric or
    outside the domain; never raises (data stored before a meter read it is not checked)."""
    try:
        return parse(value)
    except OutOfDomain:
        return None


def _validate(value: Decimal) -> Decimal:
    return check(value)


# For pydantic fields holding an amount: Annotated[Decimal, Field(ge=0), DomainCheck].
DomainCheck = AfterValidator(_validate)
Amount = Annotated[Decimal, DomainCheck]
