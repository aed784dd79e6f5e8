"""Measurements: one value per (customer, meter, usageDate); posting again replaces it.

A measurement dated day D counts in [start, end) when D at 00:00 UTC lies in it.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.customers import repository as customers_repo
from meterline.kit.errors import NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import from_us, iso_us, now_us, to_us
from meterline.measurements import repository as repo
from meterline.measurements.schemas import MeasurementCreate
from meterline.meters import repository as meters_repo


def day_us(d: date) -> int:
    return to_us(datetime(d.year, d.month, d.day, tzinfo=UTC))


def to_wire(row: dict[str, Any], *, deleted_at: int | None = None) -> dict[str, Any]:
    d = from_us(row["day_us"])
    out: dict[str, Any] = {
        "id": row["id"],
        "customerId": row["customer_id"],
        "meterId": row["meter_id"],
        "usageDate": {"year": d.year, "month": d.month, "day": d.day},
        "value": row["value"],
        "createdAt": iso_us(row["created_at"]),
        "updatedAt": iso_us(row["updated_at"]),
    }
    if deleted_at is not None:
        out["deletedAt"] = iso_us(deleted_at)
    return out


def upsert(conn: sa.Connection, *, account_id: str, data: MeasurementCreate) -> dict[str, Any]:
    customer_id, meter_id = data.customerId.lower(), data.meterId.lower()
    if customers_repo.get(conn, account_id, customer_id) is None:
        raise NotFound(f"Customer {customer_id} not found.", param="customerId")
    if meters_repo.get(conn, account_id, meter_id) is None:
        raise NotFound(f"Meter {meter_id} not found.", param="meterId")
    day = day_us(date(data.usageDate.year, data.usageDate.month, data.usageDate.day))
    now = now_us()
    repo.upsert(
        conn,
        values={
            "id": new_id(),
            "account_id": account_id,
            "customer_id": customer_id,
            "meter_id": meter_id,
            "day_us": day,
            "value": data.value,
            "created_at": now,
            "updated_at": now,
        },
    )
    row = repo.find(conn, account_id, customer_id, meter_id, day)
    assert row is not None
    return to_wire(row)


def _row(conn: sa.Connection, account_id: str, measurement_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, measurement_id)
    if row is None:
        raise NotFound(f"Measurement {measurement_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, measurement_id: str) -> dict[str, Any]:
    return to_wire(_row(conn, account_id, measurement_id))


def list_page(
    conn: sa.Connection, *, account_id: str, customer_id: str | None, meter_id: str | None, page: PageRequest
) -> Page:
    rows = repo.page(
        conn, account_id, customer_id=customer_id, meter_id=meter_id, after_seq=page.after_seq, limit=page.limit
    )
    total = repo.count(conn, account_id, customer_id=customer_id, meter_id=meter_id)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=total)


def delete(conn: sa.Connection, *, account_id: str, measurement_id: str) -> dict[str, Any]:
    """Removes the measurement (and its contribution to consumption); answers it with deletedAt."""
    row = _row(conn, account_id, measurement_id)
    repo.delete(conn, account_id, measurement_id)
    return to_wire(row, deleted_at=now_us())


def sum_for(
    conn: sa.Connection, *, account_id: str, customer_id: str, meter_id: str, start_us: int, end_us: int
) -> Decimal:
    """Sum of the customer's measurements for the meter dated on days D with D 00:00 UTC in [start_us, end_us)."""
    return sum(repo.values_between(conn, account_id, customer_id, meter_id, start_us, end_us), Decimal(0))
