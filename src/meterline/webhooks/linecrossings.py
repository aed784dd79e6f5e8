"""TierCrossed, FinalTierExceeded, CommitmentCrossed, CurrencyCommitmentUsageCrossed: a
line's usage in its current window crossing a mark of its pricing or commitment.

Part of the threshold scan (webhooks.thresholds, every METERLINE_THRESHOLD_SCAN_SECONDS):
for an account with a live subscription to one of these types, every line in force now
(of a catalog product with a meter) is judged alone, with its usage in its own window as
the consumption endpoint counts it (consumption.service.entries_for). Only lines in force
are read, never past windows. Rules: webhooks.linerules. Each notification goes to one
subscription (enqueue_to), once per dedupe key:

- TierCrossed: f"{contractId}:{linePath}:{windowStartUs}:tier:{k}" for each tier k >= 1
  entered (a jump over several tiers sends one per tier entered).
- FinalTierExceeded, CommitmentCrossed, CurrencyCommitmentUsageCrossed:
  f"{contractId}:{linePath}:{windowStartUs}".

data (all): customerId, contractId, productId, productName, linePath, displayName,
windowStart, windowEnd (ISO), consumedAmount; plus per type: tier {index, fromInclusive,
toExclusive, rate, flatFee, packageSize} and tierCount (the two tier types);
committedUnits and exceededAmount (CommitmentCrossed); commitmentPrice, usageValue,
threshold (CurrencyCommitmentUsageCrossed).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.consumption import service as consumption
from meterline.contracts import provisioning as prov
from meterline.contracts import repository as contracts_repo
from meterline.contracts.service import LineInForce
from meterline.kit.times import iso_us
from meterline.webhooks import linerules as rules
from meterline.webhooks import service
from meterline.webhooks.schemas import NotificationEventType as T

TIER = T.TierCrossed.value
FINAL = T.FinalTierExceeded.value
COMMITMENT = T.CommitmentCrossed.value
CURRENCY = T.CurrencyCommitmentUsageCrossed.value
EVENT_TYPES = (TIER, FINAL, COMMITMENT, CURRENCY)


@dataclass(frozen=True, slots=True)
class Due:
    event_type: str
    subscription_id: str
    dedupe_key: str
    data: dict[str, Any]


class _Docs:
    """The contracts' documents, read once per scan."""

    def __init__(self, conn: sa.Connection, account_id: str) -> None:
        self.conn, self.account_id = conn, account_id
        self.refs: dict[str, dict[str, prov.LineRef]] = {}

    def line(self, contract_id: str, path: str) -> prov.LineRef | None:
        if contract_id not in self.refs:
            row = contracts_repo.get(self.conn, self.account_id, contract_id)
            refs = [] if row is None else prov.all_lines(dict(row["doc"]))
            self.refs[contract_id] = {r.path: r for r in refs}
        return self.refs[contract_id].get(path)


def _base(line: LineInForce, ref: prov.LineRef, consumed: Decimal) -> dict[str, Any]:
    return {
        "customerId": line.customer_id,
        "contractId": line.contract_id,
        "productId": line.catalog_product_id,
        "productName": line.product_name,
        "linePath": line.line_path,
        "displayName": str(ref.line.get("displayName") or ""),
        "windowStart": iso_us(line.window_start_us),
        "windowEnd": iso_us(line.window_end_us),
        "consumedAmount": consumed,
    }


def _line_due(
    line: LineInForce, ref: prov.LineRef, consumed: Decimal, subs: Mapping[str, list[service.Subscription]]
) -> list[Due]:
    key = f"{line.contract_id}:{line.line_path}:{line.window_start_us}"
    base = _base(line, ref, consumed)
    pricing = ref.line.get("pricing") or {}
    out: list[Due] = []
    tiers = rules.sorted_tiers(pricing)
    if tiers:
        for k in rules.tiers_entered(tiers, consumed):
            data = {**base, "tier": rules.tier_wire(tiers, k), "tierCount": len(tiers)}
            out += [Due(TIER, s.id, f"{key}:tier:{k}", data) for s in subs.get(TIER, [])]
        if rules.final_tier_entered(tiers, consumed):
            data = {**base, "tier": rules.tier_wire(tiers, len(tiers) - 1), "tierCount": len(tiers)}
            out += [Due(FINAL, s.id, key, data) for s in subs.get(FINAL, [])]
    if rules.commitment_exceeded(line.provisioned, consumed):
        data = {**base, "committedUnits": line.provisioned, "exceededAmount": consumed - line.provisioned}
        out += [Due(COMMITMENT, s.id, key, data) for s in subs.get(COMMITMENT, [])]
    commitment = prov.effective_commitment(ref.line, ref.group) or {}
    price = Decimal(commitment.get("price") or 0)
    if subs.get(CURRENCY) and price > 0:
        value = rules.usage_value(pricing, consumed)
        for s in subs[CURRENCY]:
            if rules.currency_crossed(s.threshold, price, value):
                data = {**base, "commitmentPrice": price, "usageValue": value, "threshold": s.threshold or Decimal(1)}
                out.append(Due(CURRENCY, s.id, key, data))
    return out


def _may_fire(line: LineInForce, ref: prov.LineRef, subs: Mapping[str, list[service.Subscription]]) -> bool:
    """Whether some subscribed type applies to this line at all (else its usage is not read)."""
    pricing = ref.line.get("pricing") or {}
    commitment = prov.effective_commitment(ref.line, ref.group) or {}
    return bool(
        ((TIER in subs or FINAL in subs) and pricing.get("type") == "TIERED")
        or (COMMITMENT in subs and line.provisioned > 0)
        or (CURRENCY in subs and Decimal(commitment.get("price") or 0) > 0)
    )


def subscriptions(conn: sa.Connection, account_id: str) -> dict[str, list[service.Subscription]]:
    found = {kind: service.subscriptions_for(conn, account_id=account_id, event_type=kind) for kind in EVENT_TYPES}
    return {kind: subs for kind, subs in found.items() if subs}


def due(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    lines: list[LineInForce],
    at_us: int,
    subs: Mapping[str, list[service.Subscription]],
    docs: _Docs | None = None,
) -> list[Due]:
    """Every notification of these types due for one customer's lines in force at at_us
    (queued or not yet: the caller filters by dedupe key)."""
    if not subs:
        return []
    docs = docs or _Docs(conn, account_id)
    out: list[Due] = []
    for line in lines:
        ref = docs.line(line.contract_id, line.line_path)
        if ref is None or not _may_fire(line, ref, subs):
            continue
        entries = consumption.entries_for(
            conn, account_id=account_id, customer_id=customer_id, lines=[line], at_us=at_us
        )
        if entries:
            out += _line_due(line, ref, Decimal(entries[0]["consumedAmount"]), subs)
    return out


def docs_for(conn: sa.Connection, account_id: str) -> _Docs:
    return _Docs(conn, account_id)
