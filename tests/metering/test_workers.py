"""Several server processes on one database (`meterline serve --workers N`). SQLite: ingestion
writers of every process take turns on one lock file; PostgreSQL: they write in parallel.
Both: a ref sent to two processes at once is stored and counted exactly once."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from meterline.db.engine import create_database, lock_path_for, transaction
from meterline.db.migrate import upgrade
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.usage.service import usage
from tests.support import CLI, free_port, start_cli_server

_HOLD = """
import sys, time
from meterline.db.engine import create_database
db = create_database(sys.argv[1])
with db.writer_turn():
    print(time.time(), flush=True)
"""


def test_writer_turn_is_exclusive_across_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turn.db'}"
    db = create_database(url)
    upgrade(db)
    with db.writer_turn():
        other = subprocess.Popen([sys.executable, "-c", _HOLD, url], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert other.poll() is None  # still queued behind this process's turn
        released = time.time()
    out, _ = other.communicate(timeout=30)
    db.dispose()
    assert other.returncode == 0
    assert float(out.strip()) >= released


def test_lock_file_beside_the_database_file() -> None:
    assert lock_path_for("sqlite:///./meterline.db") == "./meterline.db-writer.lock"
    assert lock_path_for("sqlite:////var/lib/m.db") == "/var/lib/m.db-writer.lock"
    assert lock_path_for("sqlite:///:memory:") is None


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _batch(lo: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "call",
            "timestamp": "2026-01-10T10:00:00Z",
            "customerAlias": f"c{i % 7}",
            "ref": f"r{i}",
            "data": {"v": Decimal("0.1")},
        }
        for i in range(lo, lo + n)
    ]


def test_two_processes_store_each_ref_once(database_url: str) -> None:
    """SQLite: writers of both processes take turns. PostgreSQL: the batches of the one
    account are written in parallel (shared account lock), the unique index deciding."""
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": database_url,
        "METERLINE_JWT_SECRET": "workers-test-secret-" + "x" * 32,
        "METERLINE_BACKGROUND_JOBS": "0",
        "METERLINE_RATE_LIMIT_PER_SECOND": "100000",
        "METERLINE_RATE_LIMIT_BURST": "100000",
    }
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run([CLI, "accounts", "create", "w", "--json"], env=env, check=True, capture_output=True)
    created = json.loads(out.stdout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_cli_server(env, port, "--workers", "2")
    try:
        deadline = time.monotonic() + 20
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(proc.pid)) >= 2  # two server processes behind the port
        token = httpx.post(f"{url}/login", json={"refreshToken": created["apiKey"]}).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        meter = httpx.post(
            f"{url}/meters",
            headers=headers,
            json={"name": "calls", "eventName": "call", "aggregationMethod": {"operator": "Sum", "field": "v"}},
        ).json()["meter"]
        # 6 senders, each batch overlapping its neighbour's by half: every ref goes out twice,
        # on separate connections (so, in general, to both processes) at about the same time.
        accepted: list[int] = []
        lock = threading.Lock()

        def sender(k: int) -> None:
            with httpx.Client(headers=headers, timeout=30) as client:
                for round_ in range(8):
                    lo = (round_ * 6 + k) * 100
                    resp = client.post(f"{url}/events", content=jsonenc.dumps({"events": _batch(lo, 200)}))
                    assert resp.status_code == 200, resp.text
                    body = resp.json()
                    assert len(body["validEvents"]) + len(body["invalidEvents"]) == 200
                    with lock:
                        accepted.append(len(body["validEvents"]))

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    distinct_refs = 8 * 6 * 100 + 100  # refs r0 .. r4899
    assert sum(accepted) == distinct_refs
    db = create_database(database_url)
    with transaction(db, write=False) as conn:
        stored = conn.exec_driver_sql("SELECT COUNT(*), COUNT(DISTINCT ref) FROM events").one()
        total = usage(
            conn,
            account_id=created["accountId"],
            aliases=[f"c{i}" for i in range(7)],
            meter_id=meter["id"],
            start_us=to_us(parse_instant("2026-01-01T00:00:00Z", param="t")),
            end_us=to_us(parse_instant("2026-02-01T00:00:00Z", param="t")),
        )
    db.dispose()
    assert tuple(stored) == (distinct_refs, distinct_refs)
    assert total == Decimal("0.1") * distinct_refs
