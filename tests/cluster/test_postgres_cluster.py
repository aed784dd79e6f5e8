"""A production topology on PostgreSQL: two `meterline serve` processes and one
`meterline worker` on one database, driven over real HTTP (issue: production on PostgreSQL).

- the same batch sent to both servers at once is stored and counted once;
- one account's batches on both servers in parallel leave rollups equal to a recount;
- `meterline invoices close` run on two hosts at once issues each invoice once;
- one threshold crossing is notified once, though every process runs the scan loop;
- the holder of a periodic job's lease killed with SIGKILL: another process takes it over
  within one interval and the job goes on.
"""

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from meterline.db.engine import Database, create_database, transaction
from meterline.db.migrate import upgrade
from meterline.events import repository as events_repo
from meterline.jobs import leases
from meterline.kit import jsonenc
from meterline.meters import repository as meters_repo
from meterline.meters.rollups import compute
from meterline.usage import backlog
from meterline.usage.service import spec_of
from meterline.webhooks import thresholds
from tests.conftest import PG_ADMIN_URL, _pg_schema_url, make_account
from tests.contracts import factories as f
from tests.invoices.api import contract, customer, grant, product_line
from tests.metering.factories import create_meter
from tests.support import CLI, free_port, start_cli_server
from tests.webhooks.support import receiver

# Each test below starts its own processes; xdist keeps a module on one worker with loadgroup.
pytestmark = pytest.mark.xdist_group("cluster")

SCAN_SECONDS = 2.0


@dataclass
class Cluster:
    env: dict[str, str]
    db: Database
    account_id: str
    api_key: str
    servers: list[tuple[subprocess.Popen[bytes], str]]
    worker: subprocess.Popen[bytes]

    def client(self, k: int) -> httpx.Client:
        url = self.servers[k][1]
        token = httpx.post(f"{url}/login", json={"refreshToken": self.api_key}).json()["accessToken"]
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def processes(self) -> dict[int, subprocess.Popen[bytes]]:
        return {p.pid: p for p in [*(s for s, _ in self.servers), self.worker]}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    schema = f"c_{os.urandom(6).hex()}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = _pg_schema_url(schema)
    db = create_database(url)
    upgrade(db)
    account = make_account(db, "cluster")
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": url,
        "METERLINE_JWT_SECRET": "cluster-test-secret-" + "x" * 32,
        "METERLINE_RATE_LIMIT_PER_SECOND": "100000",
        "METERLINE_RATE_LIMIT_BURST": "100000",
        "METERLINE_THRESHOLD_SCAN_SECONDS": str(SCAN_SECONDS),
        "METERLINE_INVOICE_INTERVAL": str(SCAN_SECONDS),
        "METERLINE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    servers: list[tuple[subprocess.Popen[bytes], str]] = []
    worker: subprocess.Popen[bytes] | None = None
    try:
        for _ in range(2):
            port = free_port()
            servers.append((start_cli_server(env, port), f"http://127.0.0.1:{port}"))
        worker = subprocess.Popen([CLI, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield Cluster(env, db, account.account_id, account.api_key, servers, worker)
    finally:
        for proc in [*(s for s, _ in servers), *([worker] if worker else [])]:
            _stop(proc)
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _events(lo: int, n: int, *, aliases: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "name": "call",
            "timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "customerAlias": f"a{i % aliases}",
            "ref": f"r{i}",
            "data": {"v": Decimal(i % 97) / 10, "user": f"u{i % 13}"},
        }
        for i in range(lo, lo + n)
    ]


def _post(client: httpx.Client, events: list[dict[str, Any]]) -> dict[str, Any]:
    resp = client.post(
        "/events", content=jsonenc.dumps({"events": events}), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _parallel(*calls: Any) -> list[Any]:
    out: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(k: int) -> None:
        try:
            barrier.wait()
            out[k] = calls[k]()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def _wait_folded(db: Database, seconds: float = 60.0) -> None:
    """Until the folders of the servers and the worker (usage/backlog.py, every process
    runs one) have merged every stored event into the rollups."""
    deadline = time.monotonic() + seconds
    while backlog.waiting(db):
        assert time.monotonic() < deadline, "the backlog was not folded"
        time.sleep(0.1)


def _stored_rollups(db: Database, account_id: str, meter_id: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The buckets serving the meter: those of its rollup id (meters.rollup_id), once the
    background folders have merged the backlog."""
    _wait_folded(db)
    with transaction(db, write=False) as conn:
        (row,) = meters_repo.live_keys(conn, account_id, [meter_id])
        meter_id = row["rollup_id"]
        assert meter_id is not None  # created before any event: its (empty) rollups serve at once
        rows = conn.exec_driver_sql(
            "SELECT alias, level, bucket, instance, n, nv, total FROM meter_rollups "
            "WHERE account_id = %(a)s AND meter_id = %(m)s",
            {"a": account_id, "m": meter_id},
        ).all()
        distinct = conn.exec_driver_sql(
            "SELECT alias, level, bucket, instance, value, n FROM meter_distinct "
            "WHERE account_id = %(a)s AND meter_id = %(m)s",
            {"a": account_id, "m": meter_id},
        ).all()
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {tuple(r[:4]): (int(r[4]), int(r[5]), Decimal(r[6])) for r in rows}
    out.update({("distinct", *r[:5]): (int(r[5]),) for r in distinct})
    return out


def _recount(db: Database, account_id: str, meter_id: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    with transaction(db, write=False) as conn:
        (row,) = meters_repo.live_keys(conn, account_id, [meter_id])
        spec = spec_of(row)
        events = [
            (ts, ref, alias, None if data is None else jsonenc.loads(data))
            for chunk in events_repo.stream_named(conn, account_id, spec.event_name)
            for ts, ref, alias, data in chunk
        ]
    delta = compute(spec, events)
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {k: (a.n, a.nv, a.total) for k, a in delta.accs.items()}
    out.update({("distinct", *k): (n,) for k, n in delta.distinct.items()})
    return out


def test_the_same_batch_on_both_servers_is_stored_and_counted_once(cluster: Cluster) -> None:
    one, two = cluster.client(0), cluster.client(1)
    meter = create_meter(one, operator="Sum", event_name="call", field="v")
    batch = _events(0, 500)
    answers = _parallel(lambda: _post(one, batch), lambda: _post(two, batch))
    valid = [e["ref"] for a in answers for e in a["validEvents"]]
    dupes = [i["event"]["ref"] for a in answers for i in a["invalidEvents"]]
    assert sorted(valid) == sorted(e["ref"] for e in batch)  # each ref accepted by exactly one server
    assert sorted(dupes) == sorted(valid)
    assert {i["error"] for a in answers for i in a["invalidEvents"]} == {"Event ref already exists."}
    with transaction(cluster.db, write=False) as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM events").scalar_one() == 500
    assert _stored_rollups(cluster.db, cluster.account_id, meter["id"]) == _recount(
        cluster.db, cluster.account_id, meter["id"]
    )


def test_one_accounts_batches_on_both_servers_leave_rollups_equal_to_a_recount(cluster: Cluster) -> None:
    clients = [cluster.client(0), cluster.client(1)]
    meters = [
        create_meter(clients[0], operator="Sum", event_name="call", field="v"),
        create_meter(clients[1], operator="Count", event_name="call"),
        create_meter(clients[0], operator="Distinct", event_name="call", field="user"),
    ]

    # 4 senders (2 per server), 6 batches of 250 each; every batch overlaps the buckets of
    # every other (the same aliases and hours), so the servers merge into the same rows.
    def sender(k: int) -> int:
        accepted = 0
        for b in range(6):
            accepted += len(_post(clients[k % 2], _events((b * 4 + k) * 250, 250))["validEvents"])
        return accepted

    accepted = _parallel(*(lambda k=k: sender(k) for k in range(4)))
    assert sum(accepted) == 6000
    for m in meters:
        assert _stored_rollups(cluster.db, cluster.account_id, m["id"]) == _recount(
            cluster.db, cluster.account_id, m["id"]
        )


def test_invoices_close_from_two_hosts_issues_each_invoice_once(cluster: Cluster) -> None:
    api = cluster.client(0)
    cid = customer(api)
    grant(api, cid, "130")
    sub = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}
    contract(api, cid, product_line(sub), start="2030-01-01T00:00:00Z", end="2031-01-01T00:00:00Z")
    until = "2030-07-01T00:00:00Z"

    def close() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "invoices", "close", "--until", until, "--json", "--yes"],  # 2030: in the future
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    runs = _parallel(close, close)
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    lines = [json.loads(line) for r in runs for line in r.stdout.splitlines()]
    starts = sorted(line["startTime"] for line in lines)
    assert starts == [f"2030-{m:02d}-01T00:00:00.000Z" for m in range(1, 7)]  # each cycle once, between both
    with transaction(cluster.db, write=False) as conn:
        issued = conn.exec_driver_sql("SELECT COUNT(*) FROM invoices WHERE issued_at IS NOT NULL").scalar_one()
        deducted = conn.exec_driver_sql("SELECT COUNT(*) FROM credit_entries WHERE invoice_id IS NOT NULL").scalar_one()
    assert issued == 6
    assert deducted == 2  # 100 of the 130 on the first invoice, the remaining 30 on the second


def _overage_setup(api: httpx.Client, alias: str) -> str:
    meter = create_meter(api, operator="Count", event_name="ping")
    pid = f.product(api, name=f"Pings {alias}", meter_id=meter["id"])
    cust = f.customer(api, f"C {alias}", aliases=[alias])
    f.contract(api, cust, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=3, strategy="IGNORE")])
    return cust


def _pings(api: httpx.Client, alias: str, n: int) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    _post(api, [{"name": "ping", "timestamp": now, "customerAlias": alias, "ref": f"{alias}-{i}"} for i in range(n)])


def test_one_threshold_crossing_is_notified_once(cluster: Cluster) -> None:
    api = cluster.client(1)
    with receiver() as rx:
        resp = api.post("/webhook", json={"callbackUrl": rx.url, "eventType": "Overage"})
        assert resp.status_code == 200, resp.text
        rx.wait_for(1)  # the PingTest of a new subscription
        _overage_setup(api, "solo")
        _pings(api, "solo", 5)
        got = rx.wait_for(2, timeout=30)
        time.sleep(4 * SCAN_SECONDS)  # several more scans by whoever leads: nothing new
        types = [r.json["type"] for r in rx.received]
    assert types == ["PingTest", "Overage"], types
    assert got[1].json["data"]["consumedAmount"] == 5


def _leader(db: Database, name: str) -> tuple[str, int] | None:
    with transaction(db, write=False) as conn:
        return leases.current(conn, name=name)


def _pid_of(holder: str) -> int:
    return int(holder.split(":")[-2])


def test_the_job_leader_killed_is_replaced_within_one_interval(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    while (held := _leader(cluster.db, thresholds.JOB_NAME)) is None:
        assert time.monotonic() < deadline, "nobody took the threshold scan"
        time.sleep(0.05)
    procs = cluster.processes()
    old_pid = _pid_of(held[0])
    assert old_pid in procs  # one of ours leads
    procs[old_pid].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    procs[old_pid].wait()
    while True:
        held = _leader(cluster.db, thresholds.JOB_NAME)
        if held is not None and _pid_of(held[0]) != old_pid:
            break
        assert time.monotonic() - killed_at < 30, "no process took the job over"
        time.sleep(0.02)
    took = time.monotonic() - killed_at
    new_pid = _pid_of(held[0])
    assert new_pid in procs and procs[new_pid].poll() is None
    # Design bound: lease ttl + one try = one interval; 0.5 s covers this noisy machine's
    # scheduling and the 20 ms poll above.
    assert took <= SCAN_SECONDS + 0.5, took
    # The job runs in the new leader: a crossing after the kill is notified (once).
    survivor = next(k for k, (proc, _) in enumerate(cluster.servers) if proc.poll() is None)
    api = cluster.client(survivor)
    with receiver() as rx:
        assert api.post("/webhook", json={"callbackUrl": rx.url, "eventType": "Overage"}).status_code == 200
        rx.wait_for(1)
        _overage_setup(api, "after")
        _pings(api, "after", 4)
        rx.wait_for(2, timeout=30)
        time.sleep(2 * SCAN_SECONDS)
        assert [r.json["type"] for r in rx.received] == ["PingTest", "Overage"]


def _cached_reads(client: httpx.Client) -> float:
    """meterline_consumption_reads_total{outcome="cached"} of the process answering."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('meterline_consumption_reads_total{outcome="cached"}'):
            return float(line.split()[-1])
    return 0.0


def test_reads_on_one_server_see_every_batch_acknowledged_by_the_other(cluster: Cluster) -> None:
    """Server 0 keeps answers (consumption/cache.py) while server 1 ingests and every
    process's folder folds in the background: each read after a 2xx counts that batch, for
    now and for a fixed instant, and repeated reads between batches are served cached."""
    reader, writer = cluster.client(0), cluster.client(1)
    meter = create_meter(writer, operator="Sum", event_name="tok", field="v")
    pid = f.product(writer, name="Tokens", meter_id=meter["id"])
    cust = f.customer(writer, "Reader", aliases=["rd"])
    f.contract(writer, cust, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=10**9)])
    url = f"/customers/products-consumptions/{cust}"
    fixed = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}
    before = _cached_reads(reader)
    total = Decimal(0)
    for b in range(12):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        batch = [
            {"name": "tok", "timestamp": stamp, "customerAlias": "rd", "ref": f"b{b}-{i}", "data": {"v": b + i}}
            for i in range(20)
        ]
        _post(writer, batch)
        total += sum(Decimal(b + i) for i in range(20))
        for params in ({}, {}, {}, fixed, fixed, fixed):  # one answer kept per customer: each instant in turn
            resp = reader.get(url, params=params)
            assert resp.status_code == 200, resp.text
            assert Decimal(str(resp.json()["productsConsumptions"][0]["consumedAmount"])) == total
        time.sleep(0.3 * (b % 3))  # folds land before, between or after the reads
    assert _cached_reads(reader) > before
