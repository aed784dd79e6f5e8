"""Decimal arithmetic contexts for the whole process.

Python's default context rounds at 28 significant digits; money and usage sums must not
round silently, so every thread starts with 60 digits. That default is what divisions
(a PRICE commitment's `price / pricing.price`) round at.

EXACT (400 digits) is for figures that must never round: sums, differences, products and
percentages derived from accepted amounts. Every accepted amount lies in the numeric
domain (kit/amounts.py: |x| < 10^18, at most 18 decimals), so the widest such figure is
bounded (docs/semantics.md "Numeric domain"): a sum over 2^63 values has at most 37 + 18
= 55 digits; a usage percentage (consumed / provisioned * 100, two decimals) at most 78;
an invoice subtotal (tier packages: usage / packageSize * rate, over a million lines) at
most 85. 400 leaves room for all of them, and Emax/Emin keep any exponent a domain value
can produce far from overflow.
"""

import decimal
import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from pydantic import WithJsonSchema

PRECISION = 60
EXACT = decimal.Context(prec=400, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)


P = ParamSpec("P")
R = TypeVar("R")


def exact(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with EXACT as the thread's context (for code whose every operation must
    be exact, such as an invoice's figures, which divide nothing by anything but 10^k)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with decimal.localcontext(EXACT):
            return fn(*args, **kwargs)

    return wrapper


def configure() -> None:
    decimal.DefaultContext.prec = PRECISION
    decimal.DefaultContext.rounding = decimal.ROUND_HALF_EVEN
    decimal.setcontext(decimal.Context(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN))


configure()


# A Decimal the wire carries as a JSON number (kit.jsonenc writes it exactly); pydantic
# would document it as a string.
Number = Annotated[decimal.Decimal, WithJsonSchema({"type": "number"})]
