"""The dashboard's events explorer: `GET /events`'s page (the same query, filters and
keyset cursor: events.service.query) with a bounded count, so that a page stays fast
at a million stored events (an exact count of a wide range reads every index entry in it).
"""

from typing import Any

import sqlalchemy as sa

from meterline.events import service
from meterline.kit.pagination import PageRequest

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
    result = service.query(
        conn,
        account_id=account_id,
        start_us=start_us,
        end_us=end_us,
        name=name,
        alias=alias,
        page=page,
        count_cap=cap,
    )
    body = result.body("events")
    body["totalCapped"] = result.total > cap
    return body
