"""Ingestion counts: how many events POST /events accepted, refused as invalid and
refused as duplicates, per account and UTC day of receipt.

Written in each batch's own transaction (so they count exactly what was committed and
answered); events deleted later stay counted (these are ingestion figures, not stored
totals). Read by GET /ingestion-counts and the dashboard's overview.
"""

from typing import Any

import sqlalchemy as sa

from meterline.events import repository as repo
from meterline.kit.errors import InvalidParameter
from meterline.kit.times import iso_us

DAY_US = 86_400_000_000
MAX_DAYS = 400


def day_of(at_us: int) -> int:
    """The start (µs) of the UTC day holding at_us."""
    return at_us - at_us % DAY_US


def record(conn: sa.Connection, *, account_id: str, at_us: int, answer: dict[str, Any], duplicate_error: str) -> None:
    """Add one SendEventsResponse ({"validEvents", "invalidEvents"}) to the counts of
    at_us's UTC day; an invalid event whose error is `duplicate_error` counts as a duplicate."""
    invalid = answer["invalidEvents"]
    duplicate = sum(1 for e in invalid if e["error"] == duplicate_error)
    accepted = len(answer["validEvents"])
    if accepted or invalid:
        repo.add_ingest_counts(
            conn,
            account_id,
            day=day_of(at_us),
            accepted=accepted,
            invalid=len(invalid) - duplicate,
            duplicate=duplicate,
        )


def by_day(conn: sa.Connection, *, account_id: str, start_us: int, end_us: int) -> dict[str, Any]:
    """The counts of the UTC days whose start lies in [start_us, end_us):
    {"accepted", "invalid", "duplicate": int totals, "days": [{"day": ISO instant of the
    day's start, "accepted", "invalid", "duplicate"}] (days with no batch left out)}.
    Errors: 400 when end <= start or the window spans more than 400 days."""
    if end_us <= start_us:
        raise InvalidParameter("endTime must be after startTime.", param="endTime")
    if end_us - start_us > MAX_DAYS * DAY_US:
        raise InvalidParameter(f"The window may span at most {MAX_DAYS} days.", param="endTime")
    first = -(-start_us // DAY_US) * DAY_US  # the first day start at or after start_us
    rows = repo.ingest_counts_by_day(conn, account_id, first, end_us)
    days = [{"day": iso_us(d), "accepted": a, "invalid": i, "duplicate": u} for d, a, i, u in rows]
    return {
        "accepted": sum(r[1] for r in rows),
        "invalid": sum(r[2] for r in rows),
        "duplicate": sum(r[3] for r in rows),
        "days": days,
    }
