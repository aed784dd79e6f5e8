"""The account's figures at a glance, each from the service the API answers it with.

- events ingested, invalid and duplicate, today and this month: GET /ingestion-counts
  (events.counts.by_day) over the UTC day / month holding now, by day of receipt (one
  row per day and shard: cheap at any number of stored events);
- uncharged today: the UnchargedEvents rule (webhooks.periodic.uncharged_summary) over the
  UTC day;
- customers: GET /customers' total; contracts in force (contracts.service.count_in_force);
- invoices due (PendingPayment) and overdue (invoices.service.status_counts);
- webhook deliveries by status (pending, failed).
"""

from typing import Any

import sqlalchemy as sa

from meterline.aggregation.groups import group_start, next_start
from meterline.config import Settings
from meterline.contracts import service as contracts
from meterline.customers import service as customers
from meterline.events import counts
from meterline.invoices import service as invoices
from meterline.invoices.job import grace_of
from meterline.kit.pagination import PageRequest
from meterline.webhooks import periodic
from meterline.webhooks import service as webhooks

_ONE = PageRequest(limit=1, after_seq=0)


def issue_ended_cycles(conn: sa.Connection, *, account_id: str, now: int, settings: Settings) -> None:
    """What GET /invoices does before it reads: issue every cycle ended by `now` (less the
    invoice grace), in the caller's write transaction (invoices.service.catch_up)."""
    invoices.catch_up(conn, account_id=account_id, until=now, now=now, grace_us=grace_of(settings))


def figures(conn: sa.Connection, *, account_id: str, now: int) -> dict[str, Any]:
    """{"eventsToday", "eventsThisMonth", "invalidToday", "invalidThisMonth",
    "duplicateToday", "duplicateThisMonth", "unchargedToday", "customers",
    "contractsInForce", "invoicesDue", "invoicesOverdue", "webhooksPending",
    "webhooksFailed", "dayStart", "monthStart"} (counts are ints; the two starts µs UTC):
    ingestion figures of batches received in `now`'s UTC day / month."""
    day, month = group_start(now, "day"), group_start(now, "month")
    day_end, month_end = next_start(day, "day"), next_start(month, "month")
    uncharged = periodic.uncharged_summary(conn, account_id=account_id, start_us=day, end_us=day_end)
    due = invoices.status_counts(conn, account_id=account_id, now=now)
    deliveries = webhooks.delivery_counts(conn, account_id=account_id)
    today = counts.by_day(conn, account_id=account_id, start_us=day, end_us=day_end)
    month_counts = counts.by_day(conn, account_id=account_id, start_us=month, end_us=month_end)
    return {
        "eventsToday": today["accepted"],
        "eventsThisMonth": month_counts["accepted"],
        "invalidToday": today["invalid"],
        "invalidThisMonth": month_counts["invalid"],
        "duplicateToday": today["duplicate"],
        "duplicateThisMonth": month_counts["duplicate"],
        "unchargedToday": sum(int(e["count"]) for e in uncharged),
        "customers": customers.list_page(conn, account_id=account_id, page=_ONE).total,
        "contractsInForce": contracts.count_in_force(conn, account_id=account_id, at_us=now),
        "invoicesDue": due["PendingPayment"],
        "invoicesOverdue": due["Overdue"],
        "webhooksPending": deliveries.get("pending", 0),
        "webhooksFailed": deliveries.get("failed", 0),
        "dayStart": day,
        "monthStart": month,
    }
