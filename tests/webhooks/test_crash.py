"""A `meterline serve` process is SIGKILLed while a delivery is pending (and while one is in
flight), restarted, and the delivery still arrives: the outbox is in the database."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from meterline.db.engine import Database, transaction
from meterline.webhooks import repository as repo
from tests.conftest import Account
from tests.support import free_port
from tests.webhooks.support import HANG, receiver, verify

MELINE = str(Path(sys.executable).parent / "meterline")


@contextmanager
def serve(database_url: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": database_url,
        "METERLINE_JWT_SECRET": "crash-test-secret-" + "x" * 32,
        "METERLINE_BACKGROUND_JOBS": "1",
        "METERLINE_WEBHOOK_POLL_SECONDS": "0.05",
        "METERLINE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receiver listens on 127.0.0.1
        "METERLINE_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "METERLINE_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
        "METERLINE_WEBHOOK_TIMEOUT_SECONDS": "3",
        "METERLINE_WEBHOOK_LEASE_SECONDS": "4",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen([MELINE, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/webhooks", timeout=1).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


@pytest.mark.slow
def test_pending_delivery_survives_sigkill(database_url: str, db: Database, account: Account, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    # 1st attempt answered 500; the 2nd is held open while the server is killed; then 200.
    with receiver(script=[500, HANG]) as rx:
        with serve(database_url, port, log) as proc:
            token = httpx.post(f"{base}/login", json={"refreshToken": account.api_key}).json()["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            resp = httpx.post(f"{base}/webhook", json={"callbackUrl": rx.url, "eventType": "Overage"}, headers=auth)
            assert resp.status_code == 200, resp.text
            public_key = httpx.get(f"{base}/webhooks/public-key", headers=auth).json()["publicKey"]
            rx.wait_for(2)  # the retry after the 500 is in flight now
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        with transaction(db, write=False) as conn:
            [row] = repo.delivery_rows(conn, account.account_id)
        assert row["status"] == "pending" and row["lease_token"] is not None and row["attempts"] == 2

        with serve(database_url, port, log):  # restarted: the lease expires, the delivery is retried
            got = rx.wait_for(3, timeout=30)
            time.sleep(0.5)
        assert len(rx.received) == 3
    assert len({g.body for g in got}) == 1 and got[0].json["type"] == "PingTest"
    for g in got:
        verify(public_key, g)
    with transaction(db, write=False) as conn:
        [row] = repo.delivery_rows(conn, account.account_id)
    assert row["status"] == "delivered" and row["attempts"] == 3 and row["last_status"] == 200
    logged = log.read_text()
    assert '"webhook_attempt"' in logged and "PRIVATE KEY" not in logged and rx.url not in logged
