"""Notifications of the calendar: UpcomingRenewal, UnchargedEvents, MonthEndReport.

`scan_all(db, at_us=..., renewal_days=...)` is one pass over the accounts subscribed to
any of them (one query when none is); the threshold job (webhooks.thresholds) calls it
after its own pass. Each pass costs, per subscribed account:

- UpcomingRenewal: one query for live, unterminated contracts whose endDate lies in
  (at, at + renewal_days]; notice once per contract and endDate (dedupe key
  f"{contractId}:{endUs}"). data: contractId, customerId, contractName, startDate,
  endDate, noticeDays, daysLeft (whole days until endDate, rounded up).
- UnchargedEvents, for the UTC day before at_us's, computed once per account and day
  (notification_runs): one grouped scan of that day's events by (name, alias); an event
  is uncharged when no live meter is named after it (noMeter), else when no customer holds
  its alias (noCustomer), else when no live meter of its name passes its filter
  (filteredOut; only these events are read one by one). One notice per account and day
  when any is uncharged (dedupe key the day). data: day, unchargedEvents (total),
  byEventName [{eventName, count, noMeter, noCustomer, filteredOut}] sorted by name.
  Events arriving for that day after it was computed are not counted.
- MonthEndReport, for the calendar month (UTC) before at_us's, computed once per account
  and month: per customer with a contract in force in some instant of the month, one
  notice (dedupe key f"{customerId}:{YYYY-MM}"). data: customerId, customerName, month,
  period {startTime, endTime}, products [{productId, productName, consumedAmount}] (each
  catalog product with a meter named by those contracts' lines, usage in the month as
  invoices count it), invoices [{invoiceId, contractId, billingCycle, amount, dueDate,
  billingStatus}] (issued in the month).
"""

import json
import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from meterline.contracts import provisioning as prov
from meterline.contracts import repository as contracts_repo
from meterline.customers import repository as customers_repo
from meterline.db.engine import Database, transaction
from meterline.events import repository as events_repo
from meterline.invoices import repository as invoices_repo
from meterline.invoices import sources as invoice_sources
from meterline.invoices.cycles import US_PER_DAY, boundary_at_or_before
from meterline.invoices.wire import BillingStatus, billing_status
from meterline.kit.times import from_us, iso_us, to_us
from meterline.meters import repository as meters_repo
from meterline.meters.spec import MeterSpec, compile_meter
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from meterline.webhooks.schemas import NotificationEventType as T

log = structlog.get_logger("meterline.webhooks")

RENEWAL = T.UpcomingRenewal.value
UNCHARGED = T.UnchargedEvents.value
MONTH_END = T.MonthEndReport.value
EVENT_TYPES = (RENEWAL, UNCHARGED, MONTH_END)


# ---- UpcomingRenewal ------------------------------------------------------------------------


def renewals(conn: sa.Connection, *, account_id: str, at_us: int, renewal_days: int) -> int:
    """Queue UpcomingRenewal for contracts ending within renewal_days of at_us (each once)."""
    rows = contracts_repo.ending_between(conn, account_id, after_us=at_us, until_us=at_us + renewal_days * US_PER_DAY)
    keys = {f"{r['id']}:{r['end_us']}": r for r in rows}
    done = repo.existing_dedupe_keys(conn, account_id, RENEWAL, "", list(keys))
    queued = 0
    for key, row in keys.items():
        if key in done:
            continue
        data = {
            "contractId": row["id"],
            "customerId": row["customer_id"],
            "contractName": str((row["doc"] or {}).get("name") or ""),
            "startDate": iso_us(row["start_us"]),
            "endDate": iso_us(row["end_us"]),
            "noticeDays": renewal_days,
            "daysLeft": math.ceil((row["end_us"] - at_us) / US_PER_DAY),
        }
        queued += service.enqueue(conn, account_id=account_id, event_type=RENEWAL, data=data, dedupe_key=key)
    return queued


# ---- UnchargedEvents ------------------------------------------------------------------------


def _day_before(at_us: int) -> tuple[str, int, int]:
    day = from_us(at_us).date() - timedelta(days=1)
    start = to_us(from_us(at_us).replace(hour=0, minute=0, second=0, microsecond=0)) - US_PER_DAY
    return day.isoformat(), start, start + US_PER_DAY


def _filtered_out(
    conn: sa.Connection, account_id: str, name: str, aliases: list[str], specs: list[MeterSpec], day: tuple[int, int]
) -> int:
    """How many of these events no meter's filter lets through (read one by one)."""
    count = 0
    for _ts, _ref, _alias, data in events_repo.in_ranges(conn, account_id, name, aliases, [day]):
        parsed = None if data is None else json.loads(data)
        if not any(spec.passes(parsed) for spec in specs):
            count += 1
    return count


def uncharged_summary(conn: sa.Connection, *, account_id: str, start_us: int, end_us: int) -> list[dict[str, Any]]:
    """Per event name, the uncharged events with timestamp in [start, end) (see the module doc)."""
    counts = events_repo.day_counts(conn, account_id, start_us, end_us)
    if not counts:
        return []
    names = sorted({name for name, _, _ in counts})
    held = customers_repo.alias_owners(conn, account_id, sorted({alias for _, alias, _ in counts}))
    specs: dict[str, list[MeterSpec]] = {}
    for meter in meters_repo.live_for_event_names(conn, account_id, names):
        specs.setdefault(meter["event_name"], []).append(compile_meter(meter["doc"]))
    out: dict[str, dict[str, Any]] = {}
    for name, alias, n in counts:
        entry = out.setdefault(name, {"eventName": name, "count": 0, "noMeter": 0, "noCustomer": 0, "filteredOut": 0})
        if name not in specs:
            entry["noMeter"] += n
        elif alias not in held:
            entry["noCustomer"] += n
    for name, meter_specs in specs.items():
        if all(s.predicate is not None for s in meter_specs):
            aliases = sorted({a for nm, a, _ in counts if nm == name and a in held})
            if aliases:
                out[name]["filteredOut"] += _filtered_out(
                    conn, account_id, name, aliases, meter_specs, (start_us, end_us)
                )
    for entry in out.values():
        entry["count"] = entry["noMeter"] + entry["noCustomer"] + entry["filteredOut"]
    return [e for _, e in sorted(out.items()) if e["count"] > 0]


def uncharged(conn: sa.Connection, *, account_id: str, at_us: int, now: int) -> int:
    """Compute and queue the previous UTC day's UnchargedEvents once (in a write transaction)."""
    day, start, end = _day_before(at_us)
    if not repo.mark_run(conn, account_id, UNCHARGED, day, now):
        return 0
    summary = uncharged_summary(conn, account_id=account_id, start_us=start, end_us=end)
    if not summary:
        return 0
    data = {"day": day, "unchargedEvents": sum(e["count"] for e in summary), "byEventName": summary}
    return service.enqueue(conn, account_id=account_id, event_type=UNCHARGED, data=data, dedupe_key=day)


# ---- MonthEndReport -------------------------------------------------------------------------


def _month_before(at_us: int) -> tuple[str, int, int]:
    end = boundary_at_or_before(at_us, 1)
    start = boundary_at_or_before(end - 1, 1)
    return f"{from_us(start):%Y-%m}", start, end


def _product_ids(docs: list[Mapping[str, Any]]) -> list[str]:
    return [
        str(ref.line["catalogProductId"])
        for doc in docs
        for ref in prov.all_lines(dict(doc))
        if ref.line.get("catalogProductId")
    ]


def _invoice_wire(row: dict[str, Any], now: int) -> dict[str, Any]:
    status: BillingStatus = billing_status(issued=True, paid=row["paid_at"] is not None, due=row["due_date"], now=now)
    return {
        "invoiceId": row["id"],
        "contractId": row["contract_id"],
        "billingCycle": {"startTime": iso_us(row["cycle_start"]), "endTime": iso_us(row["cycle_end"])},
        "amount": row["total"],
        "dueDate": None if row["due_date"] is None else iso_us(row["due_date"]),
        "billingStatus": status.value,
    }


def month_end(conn: sa.Connection, *, account_id: str, at_us: int, now: int) -> int:
    """Compute and queue the previous month's MonthEndReport once per customer."""
    month, start, end = _month_before(at_us)
    if not repo.mark_run(conn, account_id, MONTH_END, month, now):
        return 0
    by_customer: dict[str, list[Mapping[str, Any]]] = {}
    for row in contracts_repo.overlapping(conn, account_id, start_us=start, end_us=end):
        by_customer.setdefault(row["customer_id"], []).append(row["doc"])
    queued = 0
    for customer_id, docs in by_customer.items():
        customer = customers_repo.get_any(conn, account_id, customer_id)
        data = {
            "customerId": customer_id,
            "customerName": None if customer is None else customer["name"],
            "month": month,
            "period": {"startTime": iso_us(start), "endTime": iso_us(end)},
            "products": invoice_sources.products_usage(conn, account_id, customer_id, _product_ids(docs), start, end),
            "invoices": [
                _invoice_wire(r, now) for r in invoices_repo.issued_between(conn, account_id, customer_id, start, end)
            ],
        }
        key = f"{customer_id}:{month}"
        queued += service.enqueue(conn, account_id=account_id, event_type=MONTH_END, data=data, dedupe_key=key)
    return queued


# ---- the pass -------------------------------------------------------------------------------


def _pending(conn: sa.Connection, *, account_id: str, at_us: int, renewal_days: int) -> tuple[bool, bool, bool]:
    """(renewals due, the day's UnchargedEvents due, the month's report due): reads only."""
    renewal = False
    if repo.has_live_subscription(conn, account_id, RENEWAL):
        until = at_us + renewal_days * US_PER_DAY
        rows = contracts_repo.ending_between(conn, account_id, after_us=at_us, until_us=until)
        keys = [f"{r['id']}:{r['end_us']}" for r in rows]
        renewal = len(repo.existing_dedupe_keys(conn, account_id, RENEWAL, "", keys)) < len(keys)
    day = repo.has_live_subscription(conn, account_id, UNCHARGED) and not repo.has_run(
        conn, account_id, UNCHARGED, _day_before(at_us)[0]
    )
    month = repo.has_live_subscription(conn, account_id, MONTH_END) and not repo.has_run(
        conn, account_id, MONTH_END, _month_before(at_us)[0]
    )
    return renewal, day, month


def scan(conn: sa.Connection, *, account_id: str, at_us: int, renewal_days: int, now: int) -> int:
    """Every calendar notification of one account due at at_us, queued in the caller's
    write transaction. Returns the number of deliveries queued."""
    renewal, day, month = _pending(conn, account_id=account_id, at_us=at_us, renewal_days=renewal_days)
    queued = 0
    if renewal:
        queued += renewals(conn, account_id=account_id, at_us=at_us, renewal_days=renewal_days)
    if day:
        queued += uncharged(conn, account_id=account_id, at_us=at_us, now=now)
    if month:
        queued += month_end(conn, account_id=account_id, at_us=at_us, now=now)
    return queued


def scan_all(db: Database, *, at_us: int, renewal_days: int, now: int | None = None) -> int:
    """One pass over every account subscribed to a calendar notification: each account is
    read first; a write transaction is opened only when something is due (so an idle pass
    never takes SQLite's write lock)."""
    with transaction(db, write=False) as conn:
        accounts = repo.accounts_subscribed(conn, list(EVENT_TYPES))
    total = 0
    for account_id in accounts:
        try:
            with transaction(db, write=False) as conn:
                due = _pending(conn, account_id=account_id, at_us=at_us, renewal_days=renewal_days)
            if any(due):
                with transaction(db) as conn:
                    total += scan(conn, account_id=account_id, at_us=at_us, renewal_days=renewal_days, now=now or at_us)
        except Exception:  # one account's failure never stops the others
            log.exception("calendar_scan_error", account_id=account_id)
    return total
