"""Which batches go to the rollup backlog (usage.backlog.deferred): every batch on
PostgreSQL; on SQLite a batch of at least MIN_EVENTS events spread over more (alias, hour)
buckets than SPREAD x its events (a backfill), the others merging their rollups in the
request. Either way every figure is the same before and after folding."""

from decimal import Decimal

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.times import parse_instant, to_us
from meterline.usage import backlog
from meterline.usage.backlog_repository import MIN_EVENTS
from meterline.usage.service import usage
from tests.metering.factories import event, fold_backlog, meter_body, stored_meter

START = to_us(parse_instant("2026-01-01T00:00:00Z", param="t"))
END = to_us(parse_instant("2026-02-01T00:00:00Z", param="t"))


def _usage(db: Database, account_id: str, meter_id: str, aliases: list[str]) -> Decimal:
    with transaction(db, write=False) as conn:
        return usage(conn, account_id=account_id, aliases=aliases, meter_id=meter_id, start_us=START, end_us=END)


def test_a_backfill_batch_is_deferred_a_live_one_merged_on_sqlite(db: Database) -> None:
    seed = event("seed", ts="2026-01-02T00:00:00Z", alias="c0", value=0)
    account_id, meter_id = stored_meter(db, meter_body("Sum"), [seed])
    aliases = [f"c{i}" for i in range(MIN_EVENTS)]
    live = [event(f"l{i}", ts="2026-01-10T10:00:00Z", alias=aliases[i % 3], value=1) for i in range(MIN_EVENTS)]
    spread = [
        event(f"b{i}", ts=f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:30:00Z", alias=aliases[i], value=2)
        for i in range(MIN_EVENTS)
    ]
    few = [event(f"f{i}", ts=f"2026-01-0{1 + i}T00:00:00Z", alias=aliases[i], value=4) for i in range(5)]
    expected = Decimal(0)
    for batch, deferred_on_sqlite in ((live, False), (spread, True), (few, False)):
        with transaction(db) as conn:
            answer = events_service.ingest(conn, account_id=account_id, events=batch)
        assert len(answer["validEvents"]) == len(batch)
        expected += sum(Decimal(e["data"]["value"]) for e in batch)
        waiting = backlog.waiting(db)
        assert waiting == (len(batch) if deferred_on_sqlite or not db.is_sqlite else 0)
        assert _usage(db, account_id, meter_id, aliases) == expected  # the backlog read with the rollups
        fold_backlog(db)
        assert _usage(db, account_id, meter_id, aliases) == expected
