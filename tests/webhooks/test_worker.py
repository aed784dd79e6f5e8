"""The worker loop and `meterline worker`, against real receivers."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from tests.conftest import Account
from tests.webhooks.support import FAST, HANG, receiver, running_worker, verify


def _subscribe(api: TestClient, url: str, event_type: str) -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": event_type})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def test_a_slow_receiver_does_not_stall_the_others(api: TestClient, db: Database, account: Account) -> None:
    config = replace(FAST, concurrency=4, per_subscription=2, timeout_seconds=3.0, lease_seconds=10.0)
    with receiver(script=[HANG] * 50) as slow, receiver() as fast:
        _subscribe(api, slow.url, "Overage")
        with transaction(db) as conn:
            for i in range(10):
                service.enqueue(conn, account_id=account.account_id, event_type="Overage", data={"i": i})
        with running_worker(db, config):
            slow.wait_for(2)  # two of its deliveries hang, holding two of the four slots
            started = time.monotonic()
            _subscribe(api, fast.url, "InvoiceApproved")
            fast.wait_for(1, timeout=5)
            assert time.monotonic() - started < 2.5  # before any slow attempt times out
            assert len(slow.received) == 2  # never more than per_subscription in flight to it
            slow.release.set()  # answer 200 from now on: the rest drains
            slow.wait_for(11, timeout=20)
    with transaction(db, write=False) as conn:
        statuses = [r["status"] for r in repo.delivery_rows(conn, account.account_id)]
    assert statuses.count("delivered") == 12 and len(statuses) == 12


def test_meterline_worker_command_delivers_and_stops_on_sigterm(
    api: TestClient, db: Database, database_url: str, account: Account, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": database_url,
        "METERLINE_WEBHOOK_POLL_SECONDS": "0.05",
        "METERLINE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receiver listens on 127.0.0.1
    }
    with receiver() as rx:
        _subscribe(api, rx.url, "InvoiceApproved")
        with (tmp_path / "worker.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "meterline"), "worker"], env=env, stdout=log, stderr=log
            )
        try:
            [got] = rx.wait_for(1, timeout=30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    verify(api.get("/webhooks/public-key").json()["publicKey"], got)
    assert got.json["type"] == "PingTest"
