"""SIGKILL the server mid-ingestion: every acknowledged batch is there exactly once, the
batch in flight is all-or-nothing, and the rollups agree with the stored events."""

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from meterline.db.engine import create_database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.usage.service import usage
from tests.support import CLI, free_port, start_cli_server

BATCH = 200


def _batch(n: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "call",
            "timestamp": "2026-01-10T10:00:00Z",
            "customerAlias": "acme",
            "ref": f"b{n}-{i}",
            "data": {"v": 1},
        }
        for i in range(BATCH)
    ]


@pytest.mark.slow
def test_sigkill_mid_ingestion_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": f"sqlite:///{db_path}",
        "METERLINE_JWT_SECRET": "crash-test-secret-" + "x" * 32,
        "METERLINE_BACKGROUND_JOBS": "0",
    }
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run([CLI, "accounts", "create", "crash", "--json"], env=env, check=True, capture_output=True)
    created = json.loads(out.stdout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_cli_server(env, port)
    token = httpx.post(f"{url}/login", json={"refreshToken": created["apiKey"]}).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    meter = httpx.post(
        f"{url}/meters",
        headers=headers,
        json={"name": "calls", "eventName": "call", "aggregationMethod": {"operator": "Sum", "field": "v"}},
    ).json()["meter"]

    acked: list[int] = []
    attempted: list[int] = []
    stop = threading.Event()

    def sender() -> None:
        n = 0
        with httpx.Client(headers=headers, timeout=10) as client:
            while not stop.is_set():
                attempted.append(n)
                try:
                    resp = client.post(f"{url}/events", json={"events": _batch(n)})
                except httpx.TransportError:
                    return
                if resp.status_code == 200 and len(resp.json()["validEvents"]) == BATCH:
                    acked.append(n)
                n += 1

    thread = threading.Thread(target=sender)
    thread.start()
    while len(acked) < 20:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    thread.join()

    # Restart on the same file (recovers the WAL), then look at what is stored.
    proc = start_cli_server(env, port)
    try:
        with sqlite3.connect(db_path) as conn:
            rows = conn.execute("SELECT ref FROM events").fetchall()
        refs = [r[0] for r in rows]
        assert len(refs) == len(set(refs))
        per_batch: dict[int, int] = {}
        for ref in refs:
            n = int(ref.split("-")[0][1:])
            per_batch[n] = per_batch.get(n, 0) + 1
        for n in acked:
            assert per_batch.get(n) == BATCH, n
        for n in attempted:
            assert per_batch.get(n, 0) in (0, BATCH), (n, per_batch.get(n))
        # A retry of every attempted batch after the restart is exact.
        token = httpx.post(f"{url}/login", json={"refreshToken": created["apiKey"]}).json()["accessToken"]
        for n in attempted:
            resp = httpx.post(f"{url}/events", headers={"Authorization": f"Bearer {token}"}, json={"events": _batch(n)})
            assert resp.status_code == 200
            assert len(resp.json()["validEvents"]) == (0 if per_batch.get(n) else BATCH)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    db = create_database(f"sqlite:///{db_path}")
    with transaction(db, write=False) as conn:
        total = usage(
            conn,
            account_id=created["accountId"],
            aliases=["acme"],
            meter_id=meter["id"],
            start_us=to_us(parse_instant("2026-01-01T00:00:00Z", param="t")),
            end_us=to_us(parse_instant("2026-02-01T00:00:00Z", param="t")),
        )
    db.dispose()
    assert total == BATCH * len(attempted)


def test_backfill_command_rebuilds_rollups(tmp_path: Path) -> None:
    from meterline.db.migrate import upgrade
    from meterline.events import service as events_service
    from meterline.meters import repository as meters_repo
    from meterline.usage import backlog
    from meterline.usage import merge_repository as usage_merges
    from tests.conftest import make_account

    url = f"sqlite:///{tmp_path / 'b.db'}"
    db = create_database(url)
    upgrade(db)
    acc = make_account(db, "b")
    with transaction(db) as conn:
        meters_repo.insert(
            conn,
            account_id=acc.account_id,
            meter_id="a" * 24,
            name="calls",
            event_name="call",
            doc={"name": "calls", "eventName": "call", "aggregationMethod": {"operator": "Sum", "field": "v"}},
            now=0,
            rollup_id="a" * 24,
        )
        events_service.ingest(conn, account_id=acc.account_id, events=_batch(1))
        backlog.fold_some(conn, limit=BATCH)  # PostgreSQL's folder; SQLite merged them already
        usage_merges.delete_meter(conn, acc.account_id, "a" * 24)  # as if the rollups were lost
    with transaction(db, write=False) as conn:
        lost = usage(conn, account_id=acc.account_id, aliases=["acme"], meter_id="a" * 24, start_us=0, end_us=2**62)
    assert lost == 0
    env = {**os.environ, "METERLINE_DATABASE_URL": url}
    out = subprocess.run([CLI, "meters", "backfill", "--meter", "a" * 24], env=env, capture_output=True, check=True)
    assert b"rebuilt 1 meter" in out.stderr
    with transaction(db, write=False) as conn:
        total = usage(conn, account_id=acc.account_id, aliases=["acme"], meter_id="a" * 24, start_us=0, end_us=2**62)
    db.dispose()
    assert total == BATCH


def test_backfill_command_runs_pending_rebuilds(tmp_path: Path) -> None:
    """`meterline meters backfill` (no option) runs the rebuild a POST /meters queued."""
    from meterline.db.migrate import upgrade
    from meterline.events import service as events_service
    from meterline.meters import repository as meters_repo
    from meterline.meters import service as meters_service
    from meterline.meters.schemas import MeterCreate
    from tests.conftest import make_account

    url = f"sqlite:///{tmp_path / 'p.db'}"
    db = create_database(url)
    upgrade(db)
    acc = make_account(db, "p").account_id
    body = {"name": "calls", "eventName": "call", "aggregationMethod": {"operator": "Sum", "field": "v"}}
    with transaction(db) as conn:
        events_service.ingest(conn, account_id=acc, events=_batch(1))
        meter = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(body))
    assert meter["rebuild"]["status"] == "pending"
    env = {**os.environ, "METERLINE_DATABASE_URL": url, "METERLINE_REBUILD_CHUNK_EVENTS": "7"}
    out = subprocess.run([CLI, "meters", "backfill"], env=env, capture_output=True, check=True)
    assert b"rebuilt 1 meter" in out.stderr
    with transaction(db, write=False) as conn:
        row = meters_repo.get(conn, acc, meter["id"])
        total = usage(conn, account_id=acc, aliases=["acme"], meter_id=meter["id"], start_us=0, end_us=2**62)
    db.dispose()
    assert row is not None and row["rollup_id"] == meter["id"] and row["build_id"] is None
    assert total == BATCH
