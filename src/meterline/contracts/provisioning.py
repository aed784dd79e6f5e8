"""Which contracts and lines are in force, and how much a line provisions. Pure, no I/O.

Works on stored documents (plain dicts with Decimal amounts), as kept in contracts.doc.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterline.contracts.windows import ONE_MONTH, Step, Unit, Window, boundary, window_at

IN_FORCE_STATUSES = frozenset({"Active", "PendingTermination"})


def effective_end(end_us: int | None, terminated_at: int | None) -> int | None:
    """A termination date ends the contract at that instant (or at endDate if earlier)."""
    if terminated_at is None:
        return end_us
    return terminated_at if end_us is None else min(end_us, terminated_at)


def status_at(status: str, terminated_at: int | None, at_us: int) -> str:
    """Stored status, read through a termination: PendingTermination before it, Terminated from it."""
    if terminated_at is None:
        return status
    return "Terminated" if at_us >= terminated_at else "PendingTermination"


def contract_in_force(status: str, start_us: int, end_us: int | None, at_us: int) -> bool:
    """status is the status at at_us (see status_at); end_us the effective end."""
    return status in IN_FORCE_STATUSES and start_us <= at_us and (end_us is None or at_us < end_us)


def _step(duration: dict[str, Any] | None) -> Step | None:
    if not duration:
        return None
    value = int(duration.get("value") or 0)
    if value <= 0:
        return None
    return Step(Unit(duration.get("unit") or "MONTH"), value)


def line_end(line: dict[str, Any], start_us: int) -> int | None:
    """A line whose scheduling.duration has value > 0 lasts that long after the contract's start."""
    step = _step((line.get("scheduling") or {}).get("duration"))
    return None if step is None else boundary(start_us, step, 1)


def line_in_force(line: dict[str, Any], start_us: int, at_us: int) -> bool:
    return in_force_between(start_us, line_end(line, start_us), at_us)


def in_force_between(start_us: int, line_end_us: int | None, at_us: int) -> bool:
    """A line of a contract started at start_us, with its own end (None: open), holds at_us."""
    return start_us <= at_us and (line_end_us is None or at_us < line_end_us)


def effective_commitment(line: dict[str, Any], group: dict[str, Any] | None) -> dict[str, Any] | None:
    """The line's own commitment, else (in a product group) the group's."""
    own = line.get("commitment")
    if own:
        return dict(own)
    if group is not None and group.get("commitment"):
        return dict(group["commitment"])
    return None


def provisioned(line: dict[str, Any], group: dict[str, Any] | None = None) -> Decimal:
    """commitment.units (UNITS, the default); price / pricing.price for PRICE on PER_UNIT; else 0."""
    commitment = effective_commitment(line, group)
    if commitment is None:
        return Decimal(0)
    if (commitment.get("type") or "UNITS") == "UNITS":
        return Decimal(commitment.get("units") or 0)
    pricing = line.get("pricing") or {}
    price = commitment.get("price")
    if pricing.get("type") == "PER_UNIT" and price is not None and Decimal(pricing.get("price") or 0) > 0:
        return Decimal(price) / Decimal(pricing["price"])
    return Decimal(0)


def overage_strategy(line: dict[str, Any], group: dict[str, Any] | None = None) -> str:
    commitment = effective_commitment(line, group) or {}
    return str(commitment.get("overageStrategy") or "IGNORE")


def usage_step(line: dict[str, Any], group: dict[str, Any] | None = None) -> Step:
    """pricing.usageReset months, else the commitment's scheduling.duration, else one month."""
    reset = (line.get("pricing") or {}).get("usageReset")
    if reset:
        return Step(Unit.MONTH, int(reset))
    commitment = effective_commitment(line, group) or {}
    step = _step((commitment.get("scheduling") or {}).get("duration"))
    return step or ONE_MONTH


def usage_window(
    line: dict[str, Any], group: dict[str, Any] | None, *, start_us: int, end_us: int | None, at_us: int
) -> Window:
    """[A + k*L, A + (k+1)*L) holding at_us, clipped to the contract's (effective) end and the line's end."""
    return window_in(start_us, usage_step(line, group), line_end(line, start_us), end_us=end_us, at_us=at_us)


def window_in(start_us: int, step: Step, line_end_us: int | None, *, end_us: int | None, at_us: int) -> Window:
    """usage_window from a line's step and own end already read."""
    ends = [e for e in (end_us, line_end_us) if e is not None]
    return window_at(start_us, step, at_us, end_us=min(ends) if ends else None)


@dataclass(frozen=True, slots=True)
class LineRef:
    """A line of a contract document with its product group (None for a top-level line)."""

    line: dict[str, Any]
    group: dict[str, Any] | None
    path: str


def all_lines(doc: dict[str, Any]) -> list[LineRef]:
    out = [LineRef(line, None, f"products[{i}]") for i, line in enumerate(doc.get("products") or [])]
    for g, group in enumerate(doc.get("productGroups") or []):
        out += [LineRef(line, group, f"productGroups[{g}].products[{i}]") for i, line in enumerate(group["products"])]
    return out


@dataclass(frozen=True, slots=True)
class LineTerms:
    """What a contract line provisions, read from its document: everything about it that
    does not depend on the instant asked."""

    path: str
    catalog_product_id: str
    end_us: int | None  # the line's own end (scheduling.duration), None: open
    step: Step  # the usage window's length
    provisioned: Decimal
    overage_strategy: str


def line_terms(doc: dict[str, Any], start_us: int) -> list[LineTerms]:
    """The terms of every line of a contract started at start_us that names a catalog product."""
    return [
        LineTerms(
            path=ref.path,
            catalog_product_id=str(ref.line["catalogProductId"]),
            end_us=line_end(ref.line, start_us),
            step=usage_step(ref.line, ref.group),
            provisioned=provisioned(ref.line, ref.group),
            overage_strategy=overage_strategy(ref.line, ref.group),
        )
        for ref in all_lines(doc)
        if ref.line.get("catalogProductId")
    ]
