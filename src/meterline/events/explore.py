"""The dashboard's events explorer: `GET /events`'s page (the same query, filters and
keyset cursor, events.repository.page) with a bounded count, so that a page stays fast
at a million stored events (an exact count of a wide range reads every index entry in it).
"""

from typing import Any

import sqlalchemy as sa

from meterline.events import repository as repo
from meterline.events.service import to_wire
from meterline.kit.pagination import PageRequest, make_page

COUNT_CAP = 10_000


def browse(
    conn: sa.Connection,
    *,
    account_id: str,
    start_us: int,
    end_us: int,
    name: str | None,
    alias: str | None,
    page: PageRequest,
    cap: int = COUNT_CAP,
) -> dict[str, Any]:
    """{"events": [...as GET /events...], "total", "totalCapped", "hasMore", "nextCursor"?}:
    the events of [start_us, end_us) (µs) with these name and alias (None: any), in
    creation order after the cursor. `total` is exact when `totalCapped` is false, else
    the matching events number more than `cap` and `total` is cap + 1."""
    total = repo.count_upto(conn, account_id, start_us=start_us, end_us=end_us, name=name, alias=alias, cap=cap)
    rows = repo.page(
        conn,
        account_id,
        start_us=start_us,
        end_us=end_us,
        name=name,
        alias=alias,
        after_seq=page.after_seq,
        limit=page.limit,
        matches=total if total <= cap else None,  # a capped count says only "many"
    )
    body = make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=total).body("events")
    body["totalCapped"] = total > cap
    return body
