"""Meter rebuilds in the background (meters/rebuilds.py), on SQLite and PostgreSQL:
creating or changing a meter answers before its rollups are rebuilt; reads stay exact
while the job runs (pending, part-way, with ingestion and deletes between its chunks);
a job whose process died resumes from its cursor; one process holds a job at a time."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.events import repository as events_repo
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.meters import rebuilds
from meterline.meters import repository as meters_repo
from meterline.meters.aggregation import Event, aggregate, value_or_zero
from meterline.usage import service as usage_service
from tests.metering.factories import create_meter, event, meter_body, release, run_rebuilds, send

ALIASES = ["acme", "beta"]


def _events(prefix: str, n: int, hour: int = 10) -> list[dict[str, Any]]:
    return [
        event(f"{prefix}{i}", ts=f"2026-01-10T{hour + i % 3:02d}:{i % 60:02d}:00Z", alias=ALIASES[i % 2], value=i % 5)
        for i in range(n)
    ]


def _stored(db: Database, account_id: str) -> list[Event]:
    with transaction(db, write=False) as conn:
        rows = conn.execute(
            sa.text("SELECT name, ts, ref, customer_alias, data FROM events WHERE account_id = :a"), {"a": account_id}
        ).all()
    return [Event(r[0], r[1], r[2], r[3], None if r[4] is None else jsonenc.loads(r[4])) for r in rows]


def _exact(db: Database, account_id: str, meter_id: str, doc: dict[str, Any]) -> Decimal:
    """The meter read over three windows (one with edges inside an hour) equals the reference
    aggregator over the stored events; answers the whole-range value."""
    stored = _stored(db, account_id)
    windows = [(0, 2**62), (1_768_036_500_000_000, 1_768_045_000_000_000), (1_768_039_200_000_000, 2**62)]
    out = Decimal(0)
    with transaction(db, write=False) as conn:
        for start, end in windows:
            got = usage_service.usage(
                conn, account_id=account_id, aliases=ALIASES, meter_id=meter_id, start_us=start, end_us=end
            )
            want = value_or_zero(aggregate(doc, stored, start_us=start, end_us=end, aliases=ALIASES))
            assert got == want, (start, end)
            if start == 0:
                out = got
    return out


def _meter_row(db: Database, account_id: str, meter_id: str) -> dict[str, Any]:
    with transaction(db, write=False) as conn:
        row = meters_repo.get(conn, account_id, meter_id)
    assert row is not None
    return row


def test_create_on_stored_events_answers_before_the_rebuild(api: TestClient, db: Database, account: Any) -> None:
    send(api, _events("e", 20))
    body = meter_body("Sum")
    meter = create_meter(api, **{"operator": "Sum"})
    assert meter["rebuild"]["status"] == "pending" and meter["rebuild"]["eventsDone"] == 0
    assert _meter_row(db, account.account_id, meter["id"])["rollup_id"] is None  # not rebuilt yet
    assert _exact(db, account.account_id, meter["id"], body) == Decimal(40)  # read from the events meanwhile
    run_rebuilds(db)
    got = api.get(f"/meters/{meter['id']}").json()["meter"]
    assert got["rebuild"] == {"status": "done", "progress": 1.0, "eventsDone": 20, "eventsTotal": 20}
    assert api.get("/meters").json()["meters"][0]["rebuild"]["status"] == "done"
    assert _meter_row(db, account.account_id, meter["id"])["rollup_id"] == meter["id"]
    assert _exact(db, account.account_id, meter["id"], body) == Decimal(40)  # now from the rollups


def test_meter_on_no_events_is_ready_at_once(api: TestClient, db: Database, account: Any) -> None:
    meter = create_meter(api)
    assert meter["rebuild"]["status"] == "done"
    assert _meter_row(db, account.account_id, meter["id"])["rollup_id"] == meter["id"]


def test_ingestion_and_reads_between_chunks_stay_exact(api: TestClient, db: Database, account: Any) -> None:
    send(api, _events("a", 10))
    meter = create_meter(api, operator="Sum")
    doc = meter_body("Sum")
    run_rebuilds(db, chunk=3, steps=2)  # started (high-water fixed) and one chunk folded
    row = _meter_row(db, account.account_id, meter["id"])
    assert row["rollup_id"] is None and row["build_id"] is not None
    send(api, _events("b", 7, hour=9))  # after the high-water: merged into the building rollups
    _exact(db, account.account_id, meter["id"], doc)
    run_rebuilds(db, chunk=3, steps=2)
    send(api, _events("a", 10) + _events("c", 4, hour=12))  # duplicates are counted once
    _exact(db, account.account_id, meter["id"], doc)
    run_rebuilds(db, chunk=3)
    assert _meter_row(db, account.account_id, meter["id"])["build_id"] is None
    assert _exact(db, account.account_id, meter["id"], doc) == sum(Decimal(i % 5) for n in (10, 7, 4) for i in range(n))


def test_change_then_delete_during_the_rebuild(api: TestClient, db: Database, account: Any) -> None:
    send(api, _events("a", 12))
    meter = create_meter(api, operator="Sum")
    run_rebuilds(db)
    changed = api.put(f"/meters/{meter['id']}", json={"aggregationMethod": {"operator": "Max", "field": "value"}})
    assert changed.status_code == 200 and changed.json()["meter"]["rebuild"]["status"] == "pending"
    doc = {**meter_body("Max")}
    _exact(db, account.account_id, meter["id"], doc)  # the old rollups no longer serve
    run_rebuilds(db, chunk=3, steps=3)
    deleted = api.post("/events/delete-by-refs", json={"refs": ["a4", "a9", "a0"]})
    assert deleted.status_code == 200 and len(deleted.json()["events"]) == 3  # folded already: the build starts over
    assert len(_stored(db, account.account_id)) == 9
    _exact(db, account.account_id, meter["id"], doc)
    run_rebuilds(db, chunk=3)
    assert _exact(db, account.account_id, meter["id"], doc) == Decimal(3)  # a4 and a9 held the 4s
    with transaction(db, write=False) as conn:  # every replaced rollup id was deleted
        ids = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT meter_id FROM meter_rollups").all()}
    assert ids == {_meter_row(db, account.account_id, meter["id"])["rollup_id"]}


def test_chunks_are_bounded_and_one_process_holds_a_job(db: Database) -> None:
    from tests.conftest import make_account

    acc = make_account(db).account_id
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=acc, events=_events("e", 11))
    from meterline.meters import service as meters_service
    from meterline.meters.schemas import MeterCreate

    with transaction(db) as conn:
        meter_id = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(meter_body("Count")))[
            "id"
        ]
    config = rebuilds.RebuildConfig(chunk_events=4)
    claimed = rebuilds.claim(db, config)
    assert claimed is not None
    assert rebuilds.claim(db, config) is None  # leased: no second holder
    done = [rebuilds.step(db, *claimed, config)]
    while done[-1]["status"] == "running":
        done.append(rebuilds.step(db, *claimed, config))
    steps = [b["events_done"] - a["events_done"] for a, b in itertools.pairwise(done)]
    assert steps == [4, 4, 3, 0] and done[-1]["status"] == "done"
    assert _exact(db, acc, meter_id, meter_body("Count")) == Decimal(11)


def test_chunk_size_setting() -> None:
    os.environ["METERLINE_REBUILD_CHUNK_EVENTS"] = "7"
    try:
        assert rebuilds.RebuildConfig.from_settings(Settings.from_env()).chunk_events == 7
    finally:
        del os.environ["METERLINE_REBUILD_CHUNK_EVENTS"]


_KILLED_MIDWAY = """
import os, signal, sys
from meterline.db.engine import create_database
from meterline.meters import rebuilds
db = create_database(sys.argv[1])
config = rebuilds.RebuildConfig(chunk_events=3, lease_seconds=float(sys.argv[2]))
job_id, token = rebuilds.claim(db, config)
for _ in range(3):  # start, then two chunks
    rebuilds.step(db, job_id, token, config)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_job_killed_midway_resumes_and_finishes_exact(api: TestClient, db: Database, account: Any) -> None:
    send(api, _events("e", 14))
    meter = create_meter(api, operator="Sum")
    proc = subprocess.run([sys.executable, "-c", _KILLED_MIDWAY, db.url, "30"], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with transaction(db, write=False) as conn:
        (job,) = meters_repo.active_rebuilds(conn, account.account_id, meter["id"])
    assert job["events_done"] == 6 and job["cursor_seq"] > 0 and job["lease_token"] is not None
    assert run_rebuilds(db) == 0  # still leased by the dead process
    release(db, job["id"])  # its lease runs out
    send(api, _events("f", 3, hour=11))
    _exact(db, account.account_id, meter["id"], meter_body("Sum"))
    run_rebuilds(db, chunk=3)
    got = api.get(f"/meters/{meter['id']}").json()["meter"]["rebuild"]
    assert got["status"] == "done" and got["eventsDone"] == 14  # resumed from the cursor: none folded twice
    _exact(db, account.account_id, meter["id"], meter_body("Sum"))


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite writers queue on one lock: nothing interleaves
def test_a_batch_waiting_on_a_rebuilds_start_is_counted_by_the_rebuild(
    api: TestClient, db: Database, account: Any, backend: str
) -> None:
    """PostgreSQL, where batches take the account's shared lock: a batch that arrives while
    a rebuild starts (its first step fixes the high-water seq under the exclusive lock)
    waits, then reads the meters with the building rollups and merges into them too, so
    the rebuilt meter counts it although the rebuild folds only events up to the mark."""
    meter = create_meter(api, operator="Sum")
    send(api, _events("a", 12))
    row = _meter_row(db, account.account_id, meter["id"])
    with transaction(db) as conn:
        rebuilds.schedule(conn, account_id=account.account_id, meter=row, stale=False, now=1)
    config = rebuilds.RebuildConfig()
    claimed = rebuilds.claim(db, config)
    assert claimed is not None
    job_id, token = claimed
    failures: list[BaseException] = []

    def late_batch() -> None:
        try:
            with transaction(db) as conn:
                events_service.ingest(conn, account_id=account.account_id, events=_events("b", 9))
        except BaseException as exc:  # re-raised below
            failures.append(exc)

    thread = threading.Thread(target=late_batch)
    with transaction(db) as conn:  # the rebuild's first step, held open
        events_repo.lock_account(conn, account.account_id)
        job = meters_repo.get_rebuild(conn, job_id)
        assert job is not None
        rebuilds._begin(conn, job, _meter_row(db, account.account_id, meter["id"]), token, 2, 2**62)
        thread.start()
        with db.engine.connect() as probe:  # the batch queues on the account's lock
            deadline = time.monotonic() + 30
            waiting = "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            while not probe.exec_driver_sql(waiting).first():
                assert time.monotonic() < deadline, "the batch never waited on the account lock"
                time.sleep(0.01)
    thread.join(timeout=30)
    assert not failures, failures
    assert rebuilds.run_job(db, job_id, token, config)["status"] == "done"
    assert _meter_row(db, account.account_id, meter["id"])["rollup_id"] != row["rollup_id"]  # swapped in
    assert _exact(db, account.account_id, meter["id"], meter_body("Sum")) == sum(
        Decimal(e["data"]["value"]) for e in _events("a", 12) + _events("b", 9)
    )
