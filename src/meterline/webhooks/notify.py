"""Notifications that ingestion triggers, queued in the ingesting transaction.

AnonymousCustomer: events arrived for an alias that no customer holds; at most once per
alias per UTC day (the day of ingestion), to every live AnonymousCustomer subscription.
"""

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from meterline.customers import repository as customers_repo
from meterline.kit.times import from_us
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from meterline.webhooks.schemas import NotificationEventType

ANONYMOUS = NotificationEventType.AnonymousCustomer.value


def _day(day: date | int) -> str:
    """An int is an instant in µs since the epoch (e.g. the batch's ingestion time): its UTC date."""
    if isinstance(day, int):
        return from_us(day).date().isoformat()
    return day.isoformat()


def anonymous_aliases(conn: sa.Connection, *, account_id: str, aliases: Iterable[str], day: date | int) -> int:
    """Queue AnonymousCustomer for each of `aliases` that no customer holds, once per
    (alias, day): data {"alias", "day": "YYYY-MM-DD"}, dedupe_key f"{alias}:{day}".

    In the caller's transaction (ingestion's): sent only if it commits. Without a live
    AnonymousCustomer subscription this is one indexed probe and nothing else. Returns the
    number of deliveries queued."""
    if not repo.has_live_subscription(conn, account_id, ANONYMOUS):
        return 0
    wanted = sorted(set(aliases))
    if not wanted:
        return 0
    held = customers_repo.alias_owners(conn, account_id, wanted)
    day_text = _day(day)
    keys = {alias: f"{alias}:{day_text}" for alias in wanted if alias not in held}
    done = repo.existing_dedupe_keys(conn, account_id, ANONYMOUS, "", list(keys.values()))
    queued = 0
    for alias, key in keys.items():
        if key not in done:
            queued += service.enqueue(
                conn,
                account_id=account_id,
                event_type=ANONYMOUS,
                data={"alias": alias, "day": day_text},
                dedupe_key=key,
            )
    return queued
