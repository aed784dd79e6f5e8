"""The rollup backlog (usage/backlog.py): ingestion writes events and their backlog copies;
the folder merges them into the rollups later (PostgreSQL's ingestion path; run here on
SQLite too). Figures are the same before, during and after folding; deletes fold the
account first; a fold takes a bounded number of accounts (advisory locks) and gets to
every account."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.times import parse_instant, to_us
from meterline.meters import service as meters_service
from meterline.meters.schemas import MeterCreate
from meterline.usage import backlog
from meterline.usage.service import usage
from tests.conftest import make_account
from tests.metering.factories import event, fold_backlog, meter_body, stored_meter

pytestmark = pytest.mark.usefixtures("folder_everywhere")

START = to_us(parse_instant("2026-01-01T00:00:00Z", param="t"))
END = to_us(parse_instant("2026-02-01T00:00:00Z", param="t"))


def _usage(db: Database, account_id: str, meter_id: str, alias: str = "acme") -> Decimal:
    with transaction(db, write=False) as conn:
        return usage(conn, account_id=account_id, aliases=[alias], meter_id=meter_id, start_us=START, end_us=END)


def _rollup_rows(db: Database, account_id: str) -> int:
    with transaction(db, write=False) as conn:
        q = sa.text("SELECT count(*) FROM meter_rollups WHERE account_id = :a")
        return int(conn.execute(q, {"a": account_id}).scalar_one())


def test_figures_equal_before_and_after_folding(db: Database) -> None:
    events = [
        event(f"e{i}", ts=f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:30:00Z", value=Decimal("0.5") * i) for i in range(60)
    ]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events, fold=False)
    assert _rollup_rows(db, account_id) == 0  # nothing merged by the request
    assert backlog.waiting(db) == 60
    before = _usage(db, account_id, meter_id)
    assert before == sum(Decimal("0.5") * i for i in range(60))
    with transaction(db) as conn:  # part of it: the read adds the rest
        assert backlog.fold_some(conn, limit=25) == 25
    assert backlog.waiting(db) == 35
    assert _usage(db, account_id, meter_id) == before
    assert fold_backlog(db) == 35
    assert _rollup_rows(db, account_id) > 0
    assert _usage(db, account_id, meter_id) == before


def test_a_delete_folds_the_accounts_backlog_first(db: Database) -> None:
    """The delete recomputes its days from the stored events, unfolded ones included; had
    they stayed in the backlog, the folder would add them a second time."""
    events = [event(f"e{i}", ts=f"2026-01-10T{i:02d}:00:00Z", value=10 + i) for i in range(6)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events[:3])
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=account_id, events=events[3:])  # same day, not folded
        events_service.delete_by_refs(conn, account_id=account_id, refs=["e0"])
    assert backlog.waiting(db) == 0
    fold_backlog(db)
    assert _usage(db, account_id, meter_id) == sum(10 + i for i in range(1, 6))


def test_every_account_is_folded_a_bounded_number_at_a_time(db: Database) -> None:
    accounts = []
    for k in range(backlog.MAX_ACCOUNTS + 6):
        acc = make_account(db, f"a{k}").account_id
        with transaction(db) as conn:
            meter = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Count")))
            events_service.ingest(conn, account_id=acc, events=[event(f"r{i}", value=1) for i in range(k % 3 + 1)])
        accounts.append((acc, meter["id"], k % 3 + 1))
    with transaction(db) as conn:
        first = backlog.fold_some(conn, limit=10_000)
        folded = conn.execute(sa.text("SELECT count(DISTINCT account_id) FROM meter_rollups")).scalar_one()
    assert first > 0 and folded <= backlog.MAX_ACCOUNTS
    fold_backlog(db)
    for acc, meter_id, n in accounts:
        assert _usage(db, acc, meter_id) == n
        assert _rollup_rows(db, acc) == 2  # its hour and its day
