"""Decimal arithmetic context for the whole process.

Python's default context rounds at 28 significant digits; money and usage sums must not
round silently, so every thread starts with 60 digits (amounts in the wire format are
kept exactly; 60 digits leaves room for sums of millions of such values).
"""

import decimal
from typing import Annotated

from pydantic import WithJsonSchema

PRECISION = 60


def configure() -> None:
    decimal.DefaultContext.prec = PRECISION
    decimal.DefaultContext.rounding = decimal.ROUND_HALF_EVEN
    decimal.setcontext(decimal.Context(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN))


configure()


# A Decimal the wire carries as a JSON number (kit.jsonenc writes it exactly); pydantic
# would document it as a string.
Number = Annotated[decimal.Decimal, WithJsonSchema({"type": "number"})]
