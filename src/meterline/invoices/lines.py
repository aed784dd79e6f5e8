"""The product lines of a contract, flattened in contract order.

Contract order: the lines of `products[]` first, then the lines of each entry of
`productGroups[]` (group by group, line by line). A line's index in this order is the key
of the usage mapping and the position of its invoice line item.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

USAGE_TYPES = frozenset({"PER_UNIT", "TIERED"})
DEDUCTION_TYPES = frozenset({"FIXED_DEDUCTION", "PERCENTAGE_DEDUCTION"})
DISCOUNTABLE_TYPES = frozenset({"ONE_TIME", "CONTRACT_TERMS", "SUBSCRIPTION"})


@dataclass(frozen=True, slots=True)
class Line:
    index: int
    product: Mapping[str, Any]
    group: Mapping[str, Any] | None = None
    group_index: int | None = None
    path: str = ""  # "products[i]" or "productGroups[g].products[i]"

    @property
    def pricing(self) -> Mapping[str, Any]:
        pricing: Mapping[str, Any] = self.product.get("pricing") or {}
        return pricing

    @property
    def type(self) -> str:
        return str(self.pricing.get("type", ""))

    @property
    def display_name(self) -> str:
        return str(self.product.get("displayName") or "")

    @property
    def own_commitment(self) -> Mapping[str, Any] | None:
        commitment = self.product.get("commitment")
        return commitment if commitment else None

    @property
    def calendar_aligned(self) -> bool:
        # The line's own flag is ignored inside a group (as the Vayu schema says).
        if self.group is not None:
            return bool(self.group.get("isCalendarAligned"))
        return bool(self.product.get("isCalendarAligned"))


def contract_lines(contract: Mapping[str, Any]) -> list[Line]:
    lines: list[Line] = []
    for i, product in enumerate(contract.get("products") or []):
        lines.append(Line(len(lines), product, path=f"products[{i}]"))
    for group_index, group in enumerate(contract.get("productGroups") or []):
        for i, product in enumerate(group.get("products") or []):
            lines.append(Line(len(lines), product, group, group_index, f"productGroups[{group_index}].products[{i}]"))
    return lines
