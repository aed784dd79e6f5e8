"""A window's partial edge hour is read from its bucket when the bucket's span (earliest
and latest event timestamp) lies inside the window, else from the stored events; exact
either way, on SQLite and PostgreSQL."""

from decimal import Decimal

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.times import parse_instant, to_us
from meterline.meters import repository as meters_repo
from meterline.usage import service as usage_service
from tests.metering.factories import event, meter_body, stored_meter


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


H10 = _us("2026-01-10T10:00:00Z")


def _read(
    db: Database, account_id: str, meter_id: str, start: str, end: str
) -> tuple[Decimal, list[tuple[int, int]], list[tuple[int, int, int]]]:
    with transaction(db, write=False) as conn:
        (row,) = meters_repo.live_keys(conn, account_id, [meter_id])
        item = (row, _us(start), _us(end))
        (plan,) = usage_service.read_plans(conn, account_id, ["acme"], [item], [usage_service.rollup_of(row)])
        value = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=item[1], end_us=item[2]
        )
    return value, plan[0], plan[1]


def test_edge_hour_taken_whole_when_its_events_lie_inside(db: Database) -> None:
    events = [event("e1", ts="2026-01-10T10:05:00Z", value=2), event("e2", ts="2026-01-10T10:20:00Z", value=3)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events)
    value, raw, ranges = _read(db, account_id, meter_id, "2026-01-10T00:00:00Z", "2026-01-10T10:30:00Z")
    assert value == Decimal(5)
    assert raw == []  # no stored event read
    assert (0, H10, H10 + 1) in ranges
    # start edge: the hour's first event at the window's start
    value, raw, ranges = _read(db, account_id, meter_id, "2026-01-10T10:05:00Z", "2026-01-11T00:00:00Z")
    assert value == Decimal(5)
    assert raw == [] and (0, H10, H10 + 1) in ranges


def test_edge_hour_read_from_events_when_an_event_lies_outside(db: Database) -> None:
    events = [
        event("e1", ts="2026-01-10T10:05:00Z", value=2),
        event("e2", ts="2026-01-10T10:40:00Z", value=3),
        event("e3", ts="2026-01-10T10:40:00Z", alias="other", value=7),
    ]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events)
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-10T00:00:00Z", "2026-01-10T10:30:00Z")
    assert value == Decimal(2)
    assert raw == [(H10, _us("2026-01-10T10:30:00Z"))]
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-10T10:06:00Z", "2026-01-10T12:00:00Z")
    assert value == Decimal(3)
    assert raw == [(_us("2026-01-10T10:06:00Z"), H10 + 3_600_000_000)]


def test_distinct_edge_hour_taken_whole(db: Database) -> None:
    events = [event(f"e{i}", ts=f"2026-01-10T10:{i:02d}:00Z", user=f"u{i % 3}") for i in range(6)]
    account_id, meter_id = stored_meter(db, meter_body("Distinct", field="user"), events)
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-09T00:00:00Z", "2026-01-10T10:30:00Z")
    assert (value, raw) == (Decimal(3), [])
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-09T00:00:00Z", "2026-01-10T10:02:00Z")
    assert value == Decimal(2) and raw != []


def test_bucket_without_span_is_read_from_events(db: Database) -> None:
    """A bucket written before migration 0010 has no span: its edge hour is read raw."""
    events = [event("e1", ts="2026-01-10T10:05:00Z", value=2)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events)
    with transaction(db) as conn:
        conn.exec_driver_sql("UPDATE meter_rollups SET min_ts = NULL, max_ts = NULL")
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-10T00:00:00Z", "2026-01-10T10:30:00Z")
    assert value == Decimal(2)
    assert raw == [(H10, _us("2026-01-10T10:30:00Z"))]
    # an event merged later keeps the span unknown (NULL stays NULL on both databases)
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=account_id, events=[event("e2", ts="2026-01-10T10:06:00Z", value=1)])
    value, raw, _ = _read(db, account_id, meter_id, "2026-01-10T00:00:00Z", "2026-01-10T10:30:00Z")
    assert value == Decimal(3)
    assert raw != []
