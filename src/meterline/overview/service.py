"""The account's figures at a glance, each from the service the API answers it with.

- events today / this month: GET /events' total (the count events.service.query answers) over the UTC day /
  month holding now, by event timestamp (ix_events_account_ts: an index range count);
- uncharged today: the UnchargedEvents rule (webhooks.periodic.uncharged_summary) over the
  UTC day; invalid events are answered in `invalidEvents` and never stored, so no
  per-account count of them exists (the server's /metrics counts them for all accounts);
- customers: GET /customers' total; contracts in force (contracts.service.count_in_force);
- invoices due (PendingPayment) and overdue (invoices.service.status_counts);
- webhook deliveries by status (pending, failed).
"""

from typing import Any

import sqlalchemy as sa

from meterline.aggregation.groups import group_start, next_start
from meterline.contracts import service as contracts
from meterline.customers import service as customers
from meterline.events import repository as events_repo
from meterline.invoices import service as invoices
from meterline.kit.pagination import PageRequest
from meterline.overview import repository as repo
from meterline.webhooks import periodic

_ONE = PageRequest(limit=1, after_seq=0)


def _events_between(conn: sa.Connection, account_id: str, start_us: int, end_us: int) -> int:
    # The count behind GET /events' `total` (events.service.query), without its page: the
    # page's seq-ordered read can walk far on PostgreSQL when the range holds few events.
    return events_repo.count(conn, account_id, start_us=start_us, end_us=end_us, name=None, alias=None)


def figures(conn: sa.Connection, *, account_id: str, now: int) -> dict[str, Any]:
    """{"eventsToday", "eventsThisMonth", "unchargedToday", "customers", "contractsInForce",
    "invoicesDue", "invoicesOverdue", "webhooksPending", "webhooksFailed", "dayStart",
    "monthStart"} (counts are ints; the two starts µs UTC): events with a timestamp in
    `now`'s UTC day / month."""
    day, month = group_start(now, "day"), group_start(now, "month")
    day_end, month_end = next_start(day, "day"), next_start(month, "month")
    uncharged = periodic.uncharged_summary(conn, account_id=account_id, start_us=day, end_us=day_end)
    due = invoices.status_counts(conn, account_id=account_id, now=now)
    deliveries = repo.delivery_counts(conn, account_id)
    return {
        "eventsToday": _events_between(conn, account_id, day, day_end),
        "eventsThisMonth": _events_between(conn, account_id, month, month_end),
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
