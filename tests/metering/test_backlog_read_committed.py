"""The rollup backlog read in PostgreSQL's READ COMMITTED transactions (invoice issuance,
the Conn of a request, any transaction(db): every statement its own snapshot): a
fold committing in the middle of the read must not count an event twice, nor let an edge
hour be taken whole after a fold widened its bucket (usage.service.window_values reads
again). PostgreSQL only: a SQLite write transaction holds the database lock, and no fold
commits meanwhile."""

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.usage import backlog
from meterline.usage import service as usage_service
from tests.metering.factories import create_meter, event, meter_body, post_json, send, stored_meter
from tests.metering.test_backlog_attacks import END, START, _fold_midway, _us


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only (see the module's docstring)."""
    return str(request.param)


pytestmark = pytest.mark.usefixtures("folder_everywhere")


def _exclusive_locks(conn: sa.Connection) -> int:
    """Advisory locks this transaction holds exclusively (the account's lock_account)."""
    sql = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' "
        "AND pid = pg_backend_pid()"
    )
    return int(conn.exec_driver_sql(sql).scalar_one())


def test_a_fold_during_a_read_in_a_write_transaction_is_exact(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Usage read in a write transaction, as invoice issuance does (invoices.service._issue
    -> sources.cycle_usage), or in any request's Conn: READ COMMITTED, every statement its
    own snapshot. A fold committing between the read's backlog query and its rollup query
    moves the events from the one to the other (counted in both before the fix)."""
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(40)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
        assert _exclusive_locks(conn) == 0  # read again without the account's lock
    assert folded == [40]
    assert got == sum(range(40))  # observed before the fix: twice that (1560)


def test_aggregation_endpoint_with_a_fold_midway_is_exact(
    api: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: POST /v2/events/aggregation reads a matching stored meter's rollups plus
    the backlog (it counted them twice when it read in its POST's READ COMMITTED
    transaction; it now reads in one REPEATABLE READ transaction, db.session.run_read)."""
    resp = api.post("/customers", json={"name": "Acme", "aliases": ["acme"]})
    assert resp.status_code == 200, resp.text
    create_meter(api, operator="Sum")
    send(api, [event(f"e{i}", ts=f"2026-01-{1 + i % 9:02d}T{i % 24:02d}:10:00Z", value=i + 1) for i in range(30)])
    assert backlog.waiting(db) == 30
    folded = _fold_midway(monkeypatch, db)
    body = {
        "customerId": "acme",
        "period": {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-02-01T00:00:00Z"},
        "meters": [{"key": "v", "eventName": "api_call", "aggregation": {"operator": "Sum", "field": "value"}}],
        "groupBy": "month",
    }
    resp = post_json(api, "/v2/events/aggregation", body)
    assert resp.status_code == 200, resp.text
    assert folded == [30]
    points = jsonenc.loads(resp.content)["dataPoints"]
    assert points == [{"group": "2026-01", "values": {"v": sum(range(1, 31))}}]  # before the fix: 930


def test_a_fold_between_the_edge_check_and_the_bucket_read_in_a_write_transaction(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BUG (PostgreSQL, READ COMMITTED): the window ends at 10:30; the 10:00 bucket holds
    only the folded 10:10 event, so its span says it may be read whole; the 10:50 event
    (outside the window) waits in the backlog. A fold committing after the span check adds
    10:50 to the bucket the read then takes whole."""
    account_id, meter_id = stored_meter(
        db, meter_body("Sum"), [event("in", ts="2026-01-10T10:10:00Z", value=1)], fold=True
    )
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=account_id, events=[event("out", ts="2026-01-10T10:50:00Z", value=100)])
    assert backlog.waiting(db) == 1
    folded, got = _read_to_1030(db, monkeypatch, account_id, meter_id, lambda: None)
    assert folded == [1]
    assert got == 1  # before the fix: 101


def _read_to_1030(
    db: Database, monkeypatch: pytest.MonkeyPatch, account_id: str, meter_id: str, meanwhile: Any
) -> tuple[list[int], Any]:
    """The meter over [START, 2026-01-10T10:30) in a write transaction, with `meanwhile()`
    and a fold of the whole backlog committed right after its edge buckets were checked
    (once): the events folded then, and the figure."""
    original = usage_service.repo.edge_buckets_whole
    folded: list[int] = []

    def edge_buckets_whole(*args: Any, **kwargs: Any) -> Any:
        whole = original(*args, **kwargs)
        if not folded:
            meanwhile()
            folded.append(backlog.fold_all(db, chunk=10_000))
        return whole

    monkeypatch.setattr(usage_service.repo, "edge_buckets_whole", edge_buckets_whole)
    end = _us("2026-01-10T10:30:00Z")
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=end
        )
    return folded, got


def test_a_read_whose_backlog_keeps_being_folded_ends_under_the_lock(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The READ COMMITTED read's last attempt (here the second) takes the account's
    exclusive lock (no fold commits meanwhile): exact, and the lock is held."""
    monkeypatch.setattr(usage_service, "_ATTEMPTS", 1)
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(10)]
    account_id, meter_id = stored_meter(db, meter_body("Count"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
        assert _exclusive_locks(conn) == 1
        assert backlog.waiting(db) == 0
    assert folded == [10]
    assert got == 10


def test_an_event_stored_and_folded_during_a_read_outside_its_window(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """READ COMMITTED: the 10:00 bucket holds only the folded 10:10 event, so its span says
    it may be read whole for a window ending at 10:30; between that check and the bucket
    read, a new 10:50 event (outside the window) is stored AND folded into the bucket: the
    backlog the read saw never held it. The read must not count it (it did: 101)."""
    account_id, meter_id = stored_meter(
        db, meter_body("Sum"), [event("in", ts="2026-01-10T10:10:00Z", value=1)], fold=True
    )

    def store_out() -> None:
        with transaction(db) as other:
            out = event("out", ts="2026-01-10T10:50:00Z", value=100)
            events_service.ingest(other, account_id=account_id, events=[out])

    folded, got = _read_to_1030(db, monkeypatch, account_id, meter_id, store_out)
    assert folded == [1]
    assert got == 1
