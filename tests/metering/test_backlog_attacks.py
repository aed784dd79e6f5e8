"""Attacks on the rollup backlog (usage/backlog.py): a fold committing in the middle of a
usage read. A read transaction (REPEATABLE READ) sees one snapshot; a read in a write
transaction (PostgreSQL's READ COMMITTED: invoice issuance, the Conn of a POST such as
/v2/events/aggregation) must not count an event moved from the backlog to the rollups
twice, nor take an edge hour whole whose bucket a fold widened after its span check."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.usage import backlog
from meterline.usage import service as usage_service
from tests.metering.factories import (
    backlog_everywhere,
    create_meter,
    event,
    meter_body,
    post_json,
    send,
    stored_meter,
)


@pytest.fixture(autouse=True)
def _deferred() -> Iterator[None]:
    with backlog_everywhere():
        yield


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


START, END = _us("2026-01-01T00:00:00Z"), _us("2026-02-01T00:00:00Z")


def _fold_midway(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[int]:
    """Make the next read's backlog query fold the whole backlog (in another transaction,
    committed) right after it answers: the rest of the read then runs after the fold."""
    original = usage_service.backlog_repo.in_windows
    folded: list[int] = []

    def in_windows(*args: Any, **kwargs: Any) -> Any:
        rows = original(*args, **kwargs)
        if not folded:
            folded.append(backlog.fold_all(db, chunk=10_000))
        return rows

    monkeypatch.setattr(usage_service.backlog_repo, "in_windows", in_windows)
    return folded


# -- a fold committing in the middle of a read ------------------------------------------


def test_a_fold_during_a_read_transaction_changes_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read transaction (REPEATABLE READ on PostgreSQL, SQLite's snapshot): a fold that
    commits between its backlog query and its rollup queries is not seen by either."""
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(40)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db, write=False) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
    assert folded == [40]
    assert got == sum(range(40))


def test_a_fold_during_a_read_in_a_write_transaction_is_exact(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BUG (PostgreSQL): usage read in a write transaction, as invoice issuance does
    (invoices.service._issue -> sources.cycle_usage) and POST /v2/events/aggregation (the
    Conn of a POST): READ COMMITTED, every statement its own snapshot. A fold committing
    between the read's backlog query and its rollup query moves the events from the one to
    the other: they are counted in both."""
    if backend == "sqlite":
        pytest.skip("SQLite: the write transaction holds the database lock, no fold can commit meanwhile")
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(40)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
    assert folded == [40]
    assert got == sum(range(40))  # observed before the fix: twice that (1560)


def test_aggregation_endpoint_with_a_fold_midway_is_exact(
    api: TestClient, db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BUG (PostgreSQL), over HTTP: POST /v2/events/aggregation reads a matching stored
    meter's rollups plus the backlog in its POST transaction (READ COMMITTED)."""
    if backend == "sqlite":
        pytest.skip("SQLite: the POST's transaction holds the database lock, no fold can commit meanwhile")
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
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BUG (PostgreSQL, READ COMMITTED): the window ends at 10:30; the 10:00 bucket holds
    only the folded 10:10 event, so its span says it may be read whole; the 10:50 event
    (outside the window) waits in the backlog. A fold committing after the span check adds
    10:50 to the bucket the read then takes whole."""
    if backend == "sqlite":
        pytest.skip("SQLite: the write transaction holds the database lock, no fold can commit meanwhile")
    account_id, meter_id = stored_meter(
        db, meter_body("Sum"), [event("in", ts="2026-01-10T10:10:00Z", value=1)], fold=True
    )
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=account_id, events=[event("out", ts="2026-01-10T10:50:00Z", value=100)])
    assert backlog.waiting(db) == 1
    original = usage_service.repo.edge_buckets_whole
    folded: list[int] = []

    def edge_buckets_whole(*args: Any, **kwargs: Any) -> Any:
        whole = original(*args, **kwargs)
        if not folded:
            folded.append(backlog.fold_all(db, chunk=10_000))
        return whole

    monkeypatch.setattr(usage_service.repo, "edge_buckets_whole", edge_buckets_whole)
    end = _us("2026-01-10T10:30:00Z")
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=end
        )
    assert folded == [1]
    assert got == 1  # before the fix: 101


def test_a_read_whose_backlog_keeps_being_folded_ends_under_the_lock(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The READ COMMITTED read's last attempt holds the account's exclusive lock: exact."""
    if backend == "sqlite":
        pytest.skip("PostgreSQL's READ COMMITTED reads only")
    monkeypatch.setattr(usage_service, "_ATTEMPTS", 1)
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(10)]
    account_id, meter_id = stored_meter(db, meter_body("Count"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
        assert backlog.waiting(db) == 0
    assert folded == [10]
    assert got == 10
