"""Overage and CommitmentUsageCrossed: consumption crossing `threshold * provisioned`.

Consumption is never pushed by ingestion: a background job (`start`, listed in
meterline.routers.BACKGROUND, and part of `meterline worker`) scans every
METERLINE_THRESHOLD_SCAN_SECONDS (default 5 s) the accounts that have a live Overage or
CommitmentUsageCrossed subscription (one query when none has), computes each customer's
products consumption as of now with meterline.consumption.service (the same rules and
numbers as GET /customers/products-consumptions), and queues a notification per
subscription for every crossing not queued yet.

- **Overage** is judged on the product's entry as GET answers it (its lines merged:
  provisioned amounts add, window of the line whose contract started last). It fires for
  subscription s when consumed > 0 and consumed >= (s.threshold or 1) * provisioned; with
  provisioned 0 that is the first usage of the window. Key: that last-started line and
  the window. data = the ProductConsumption fields + customerId.
- **CommitmentUsageCrossed** is judged per line, each against its own commitment in its
  own window (the entry the line alone would give); lines with provisioned 0 (no
  commitment) never fire. data = that line's ProductConsumption fields + customerId +
  contractId.
- Once per subscription, line and window: dedupe_key f"{contract_id}:{line_path}:{window_start_us}"
  (enqueue_to's per-subscription key). A later scan, another scanner, or a retry never
  queues it twice; the next window has a new key.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI

from meterline.consumption import service as consumption
from meterline.contracts.service import LineInForce, account_lines_in_force
from meterline.db.engine import Database, transaction
from meterline.jobs.leader import run_as_leader, start_periodic
from meterline.kit import metrics
from meterline.kit.times import now_us
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from meterline.webhooks.schemas import NotificationEventType

log = structlog.get_logger("meterline.webhooks")

OVERAGE = NotificationEventType.Overage.value
CROSSED = NotificationEventType.CommitmentUsageCrossed.value
EVENT_TYPES = (OVERAGE, CROSSED)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A notification due for one subscription (maybe already queued by an earlier scan)."""

    event_type: str
    subscription_id: str
    dedupe_key: str
    data: dict[str, Any]


def crossed(threshold: Decimal | None, provisioned: Decimal, consumed: Decimal) -> bool:
    """consumed > 0 and consumed >= (threshold or 1) * provisioned."""
    return consumed > 0 and consumed >= (threshold or ONE) * provisioned


def _key(line: LineInForce) -> str:
    return f"{line.contract_id}:{line.line_path}:{line.window_start_us}"


def _latest(lines: Sequence[LineInForce]) -> LineInForce:
    """The line whose window a merged entry takes (consumption.rules.merge: the contract
    that started last, ties to the one created last)."""
    return max(lines, key=lambda x: (x.contract_start_us, x.contract_seq))


def _due(
    subs: Sequence[service.Subscription], event_type: str, key: str, entry: dict[str, Any], data: dict[str, Any]
) -> list[Crossing]:
    provisioned, consumed = entry["provisionedAmount"], entry["consumedAmount"]
    return [Crossing(event_type, s.id, key, data) for s in subs if crossed(s.threshold, provisioned, consumed)]


def _customer(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    lines: list[LineInForce],
    at_us: int,
    overage: list[service.Subscription],
    commitment: list[service.Subscription],
) -> list[Crossing]:
    entries = consumption.entries_for(conn, account_id=account_id, customer_id=customer_id, lines=lines, at_us=at_us)
    by_product: dict[str, list[LineInForce]] = {}
    for line in lines:
        by_product.setdefault(line.catalog_product_id, []).append(line)
    out: list[Crossing] = []
    for entry in entries:
        product_lines = by_product[entry["productId"]]
        if overage:
            data = {**entry, "customerId": customer_id}
            out += _due(overage, OVERAGE, _key(_latest(product_lines)), entry, data)
        for line in product_lines if commitment else []:
            own = entry
            if len(product_lines) > 1:  # judged alone: its own commitment, its own window
                [own] = consumption.entries_for(
                    conn, account_id=account_id, customer_id=customer_id, lines=[line], at_us=at_us
                )
            if own["provisionedAmount"] > 0:
                data = {**own, "customerId": customer_id, "contractId": line.contract_id}
                out += _due(commitment, CROSSED, _key(line), own, data)
    return out


def pending(conn: sa.Connection, *, account_id: str, at_us: int) -> list[Crossing]:
    """The crossings of the account as of at_us not queued yet (reads only)."""
    overage = service.subscriptions_for(conn, account_id=account_id, event_type=OVERAGE)
    commitment = service.subscriptions_for(conn, account_id=account_id, event_type=CROSSED)
    if not overage and not commitment:
        return []
    by_customer: dict[str, list[LineInForce]] = {}
    for line in account_lines_in_force(conn, account_id=account_id, at_us=at_us):
        by_customer.setdefault(line.customer_id, []).append(line)
    found: list[Crossing] = []
    for customer_id, lines in by_customer.items():
        found += _customer(conn, account_id, customer_id, lines, at_us, overage, commitment)
    keys: dict[tuple[str, str], list[str]] = {}
    for c in found:
        keys.setdefault((c.event_type, c.subscription_id), []).append(c.dedupe_key)
    done = {
        (event_type, sub_id, key)
        for (event_type, sub_id), wanted in keys.items()
        for key in repo.existing_dedupe_keys(conn, account_id, event_type, sub_id, wanted)
    }
    return [c for c in found if (c.event_type, c.subscription_id, c.dedupe_key) not in done]


def queue(conn: sa.Connection, *, account_id: str, crossings: Sequence[Crossing]) -> int:
    """Queue these crossings (each once: a duplicate is a no-op). Returns how many were queued."""
    return sum(
        service.enqueue_to(
            conn,
            account_id=account_id,
            subscription_id=c.subscription_id,
            event_type=c.event_type,
            data=c.data,
            dedupe_key=c.dedupe_key,
        )
        for c in crossings
    )


def scan(conn: sa.Connection, *, account_id: str, at_us: int) -> int:
    """Queue, in the caller's write transaction, every Overage / CommitmentUsageCrossed
    crossing of the account as of at_us not queued before. Returns the number queued."""
    return queue(conn, account_id=account_id, crossings=pending(conn, account_id=account_id, at_us=at_us))


def scan_all(db: Database, *, at_us: int) -> int:
    """One pass of the job over every subscribed account: one query when there is none.
    Each account is computed in a read transaction; a write transaction is opened only
    when something is to be queued (so the job takes SQLite's write lock only then)."""
    with transaction(db, write=False) as conn:
        accounts = repo.accounts_subscribed(conn, list(EVENT_TYPES))
    total = 0
    for account_id in accounts:
        try:
            with transaction(db, write=False) as conn:
                due = pending(conn, account_id=account_id, at_us=at_us)
            if due:
                with transaction(db) as conn:
                    total += queue(conn, account_id=account_id, crossings=due)
        except Exception:  # one account's failure never stops the others
            log.exception("threshold_scan_error", account_id=account_id)
    return total


@dataclass(frozen=True)
class ScanConfig:
    interval_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError("METERLINE_THRESHOLD_SCAN_SECONDS must be > 0")


JOB_NAME = "threshold-scan"


def _round(db: Database) -> None:
    with metrics.job_round("threshold_scan"):
        scan_all(db, at_us=now_us())


async def run_forever(db: Database, config: ScanConfig, stop: asyncio.Event) -> None:
    """Scan every `interval_seconds` until `stop`, in one process at a time across every
    server and worker on the database (meterline.jobs.leader)."""
    await run_as_leader(db, name=JOB_NAME, interval=config.interval_seconds, work=lambda: _round(db), stop=stop)


def start(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """The in-process job (routers.BACKGROUND); app.state.threshold_scan_config may override."""
    db: Database = app.state.db
    config = getattr(app.state, "threshold_scan_config", None) or ScanConfig(app.state.settings.threshold_scan_seconds)
    return start_periodic(db, name=JOB_NAME, interval=config.interval_seconds, work=lambda: _round(db))
