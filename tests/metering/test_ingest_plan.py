"""A batch screened and turned into rows before the write transaction (prescreen) is
stored right when things changed in between: a meter created or changed, or a ref already
stored. Read before and after the folder merged the backlog: the same figures."""

from decimal import Decimal

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.times import parse_instant, to_us
from meterline.meters import service as meters_service
from meterline.meters.schemas import MeterCreate, MeterUpdate
from meterline.usage.service import usage
from tests.conftest import make_account
from tests.metering.factories import event, fold_backlog, meter_body, run_rebuilds

START = to_us(parse_instant("2026-01-10T00:00:00Z", param="t"))
END = START + 86_400_000_000


def _prescreened(db: Database, account_id: str, events: list[dict[str, object]]) -> events_service.Prepared:
    batch = events_service.prepare(events)
    with transaction(db, write=False) as conn:
        events_service.prescreen(conn, account_id=account_id, batch=batch)
    assert batch.rows is not None
    return batch


def _read(db: Database, account_id: str, meter_id: str) -> Decimal:
    with transaction(db, write=False) as conn:
        return usage(conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END)


def _usage(db: Database, account_id: str, meter_id: str) -> Decimal:
    """The figure from the backlog, then from the rollups (both must agree)."""
    before = _read(db, account_id, meter_id)
    run_rebuilds(db)
    fold_backlog(db)
    after = _read(db, account_id, meter_id)
    assert before == after
    return after


def test_prescreened_batch_stored_when_meters_unchanged(db: Database) -> None:
    acc = make_account(db).account_id
    with transaction(db) as conn:
        meter = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Sum")))
    batch = _prescreened(db, acc, [event("a", value=Decimal("1.5")), event("b", value=2)])
    with transaction(db) as conn:
        events_service.store(conn, account_id=acc, batch=batch)
    assert _usage(db, acc, meter["id"]) == Decimal("3.5")


def test_meter_changed_after_prescreen(db: Database) -> None:
    acc = make_account(db).account_id
    with transaction(db) as conn:
        meter = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Sum")))
    batch = _prescreened(db, acc, [event("a", value=Decimal("1.5")), event("b", value=2)])
    with transaction(db) as conn:
        meters_service.update(
            conn,
            account_id=acc,
            meter_id=meter["id"],
            data=MeterUpdate.model_validate({"aggregationMethod": {"operator": "Max", "field": "value"}}),
        )
        other = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Count")))
    with transaction(db) as conn:
        events_service.store(conn, account_id=acc, batch=batch)
    assert _usage(db, acc, meter["id"]) == Decimal(2)
    assert _usage(db, acc, other["id"]) == Decimal(2)


def test_duplicate_after_prescreen(db: Database) -> None:
    acc = make_account(db).account_id
    with transaction(db) as conn:
        meter = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Sum")))
    batch = _prescreened(db, acc, [event("a", value=Decimal("1.5")), event("b", value=2)])
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=acc, events=[event("a", value=Decimal("1.5"))])
    with transaction(db) as conn:
        body = events_service.store(conn, account_id=acc, batch=batch)
    assert [e["ref"] for e in body["validEvents"]] == ["b"]
    assert [e["event"]["ref"] for e in body["invalidEvents"]] == ["a"]
    assert _usage(db, acc, meter["id"]) == Decimal("3.5")
