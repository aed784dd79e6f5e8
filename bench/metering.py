"""Metering benchmark: HTTP ingestion rate vs a bare-SQLite floor, and usage() latency at
10 k, 1 M and 10 M stored events. Medians throughout.

Environment: BENCH_SIZES (default "10000,1000000,10000000"), BENCH_DATA (dataset cache
directory, default bench/.data; datasets are reused when present), BENCH_ROUNDS (5),
BENCH_BATCHES (1000-event batches per round, 40), BENCH_CONNECTIONS (client connections,
4), BENCH_WORKERS (server processes to measure, "1,2"; the floor uses the rows of the last).
"""

import http.client
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench import report
from meterline.auth import service as auth_service
from meterline.config import Settings
from meterline.db.engine import Database, create_database, sqlite_driver, transaction
from meterline.db.migrate import upgrade
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.meters import service as meters_service
from meterline.meters.schemas import MeterCreate
from meterline.usage import backlog
from meterline.usage.service import usage

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "meterline")
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
DAY = 86_400_000_000
METER = {"name": "Value", "eventName": "api_call", "aggregationMethod": {"operator": "Sum", "field": "value"}}
VALUES = [Decimal("0.1"), Decimal("0.25"), Decimal("1"), Decimal("2.5"), Decimal("10")]
console = Console()


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _events(start: int, n: int, customers: int, span_us: int, prefix: str, rnd: random.Random) -> list[dict[str, Any]]:
    """n events in timestamp order over span_us, customers skewed (weight 1/rank)."""
    weights = [1 / (k + 1) for k in range(customers)]
    who = rnd.choices(range(customers), weights=weights, k=n)
    return [
        {
            "name": "api_call",
            "timestamp": _iso(start + i * span_us // n),
            "customerAlias": f"cust-{who[i]}",
            "ref": f"{prefix}-{i}",
            "data": {"value": VALUES[i % 5], "region": "eu" if i % 3 else "us", "path": "/v1/items"},
        }
        for i in range(n)
    ]


# -- HTTP ingestion ------------------------------------------------------------------


def _serve(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120  # a loaded 2-core machine starts 2 workers slowly
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/meters", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _backfill_events(n: int, prefix: str, rnd: random.Random) -> list[dict[str, Any]]:
    """The backfill shape: n events with timestamps spread at random over 30 days and
    1000 aliases taken evenly (every batch touches ~1000 aliases and many hours)."""
    return [
        {
            "name": "api_call",
            "timestamp": _iso(T0 + 10 * DAY + rnd.randrange(30 * DAY)),
            "customerAlias": f"cust-{i % 1000}",
            "ref": f"{prefix}-{i}",
            "data": {"value": VALUES[i % 5], "region": "eu" if i % 3 else "us", "path": "/v1/items"},
        }
        for i in range(n)
    ]


SHAPES = ("live", "backfill")
# The PostgreSQL section's meters: Sum, Count and Distinct on the event name.
THREE_METERS = (
    METER,
    {"name": "Calls", "eventName": "api_call", "aggregationMethod": {"operator": "Count"}},
    {"name": "Regions", "eventName": "api_call", "aggregationMethod": {"operator": "Distinct", "field": "region"}},
)


def _floor_row(account_id: str, i: int, e: dict[str, Any]) -> tuple[Any, ...]:
    ts = to_us(parse_instant(e["timestamp"], param="timestamp"))
    return (f"{i:024x}", account_id, e["ref"], e["name"], e["customerAlias"], ts, jsonenc.dumps(e["data"]).decode(), 0)


def fold_rate(url: str) -> float | None:
    """Events/s of the folder (usage/backlog.py, one process, default chunk) merging the
    whole backlog the ingestion left (the bench's servers run no background job); None
    when there was none (SQLite's requests merge their rollups themselves)."""
    db = create_database(url)
    try:
        began = time.perf_counter()
        n = backlog.fold_all(db, chunk=Settings.model_fields["fold_chunk_events"].default)
        seconds = time.perf_counter() - began
        assert backlog.waiting(db) == 0
    finally:
        db.dispose()
    return n / seconds if n else None


def fold_rows(
    rates: dict[int, float], folds: dict[int, float | None], shape: str, what: str
) -> list[tuple[str, str, str]]:
    """The folder's rate after each ingestion run, and ingestion then folding as one rate
    (events / (their ingestion time + their folding time))."""
    rows = []
    for workers, fold in folds.items():
        if fold is None:
            rows.append((f"folder afterwards, {shape} shape, {what} --workers {workers} run", "nothing to fold", ""))
            continue
        rows.append((f"folder afterwards, {shape} shape, {what} --workers {workers} run", f"{fold:,.0f} events/s", ""))
        both = 1 / (1 / rates[workers] + 1 / fold)
        rows.append((f"ingested and folded, {shape} shape, --workers {workers}", f"{both:,.0f} events/s", ""))
    return rows


def http_ingest(
    rounds: int,
    batches: int,
    workdir: Path,
    workers: int = 1,
    *,
    database_url: str | None = None,
    shape: str = "live",
    meters: tuple[dict[str, Any], ...] = (METER,),
) -> tuple[float, list[list[tuple[Any, ...]]], list[bytes], float | None]:
    """Median events/s over HTTP (1000-event batches, CONNECTIONS client connections) to
    `meterline serve --workers N` on a fresh database (a SQLite file in workdir unless
    database_url is given), with these meters, in the traffic shape `live` (each batch's
    timestamps within one second, aliases skewed) or `backfill` (_backfill_events); also
    answers the rows sent (for the SQLite floor), the request bodies (for PostgreSQL's) and
    the folder's rate on the backlog left (fold_rate)."""
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": database_url or f"sqlite:///{workdir / f'http-{shape}-{workers}.db'}",
        "METERLINE_JWT_SECRET": "bench-secret-" + "x" * 32,
        "METERLINE_RATE_LIMIT_PER_SECOND": "1000000",
        "METERLINE_RATE_LIMIT_BURST": "1000000",
        "METERLINE_BACKGROUND_JOBS": "0",
    }
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True)
    key = json.loads(
        subprocess.run([CLI, "accounts", "create", "bench", "--json"], env=env, check=True, capture_output=True).stdout
    )
    port = 18000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    proc = _serve(env, port, workers)
    try:
        token = httpx.post(f"{url}/login", json={"refreshToken": key["apiKey"]}).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        for meter in meters:
            httpx.post(f"{url}/meters", headers=headers, json=meter).raise_for_status()
        rnd = random.Random(1)
        rates = []
        floor_rows: list[list[tuple[Any, ...]]] = []
        all_bodies: list[bytes] = []
        clock = T0 + 40 * DAY
        for r in range(rounds):
            bodies = []
            for b in range(batches):
                if shape == "live":
                    evs = _events(clock, 1000, 1000, 1_000_000, f"h{r}-{b}", rnd)
                else:
                    evs = _backfill_events(1000, f"h{r}-{b}", rnd)
                clock += 1_000_000
                bodies.append(jsonenc.dumps({"events": evs}))
                floor_rows.append([_floor_row(key["accountId"], i, e) for i, e in enumerate(evs)])
            all_bodies += bodies
            queue = list(range(batches))
            lock = threading.Lock()

            def worker(queue: list[int] = queue, lock: threading.Lock = lock, bodies: list[bytes] = bodies) -> None:
                # http.client, not httpx: the client shares the 2 cores with the server, and
                # httpx's pure-Python response handling of the ~200 KB echo costs more.
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    while True:
                        with lock:
                            if not queue:
                                return
                            i = queue.pop(0)
                        conn.request("POST", "/events", body=bodies[i], headers=headers)
                        resp = conn.getresponse()
                        content = resp.read()
                        # All valid, checked without decoding the echo.
                        ok = resp.status == 200 and content.endswith(b'"invalidEvents":[]}')
                        assert ok, content[:200]
                finally:
                    conn.close()

            threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rates.append(batches * 1000 / (time.perf_counter() - start))
        return statistics.median(rates), floor_rows, all_bodies, fold_rate(env["METERLINE_DATABASE_URL"])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def floor(rows: list[list[tuple[Any, ...]]], rounds: int, workdir: Path) -> float:
    """Bare executemany of the same rows into a fresh SQLite file of the same schema, with the
    server's durability settings (WAL, synchronous=FULL), one transaction per 1000 rows."""
    rates = []
    per_round = len(rows) // rounds
    for r in range(rounds):
        path = workdir / f"floor{r}.db"
        db = create_database(f"sqlite:///{path}")
        upgrade(db)
        db.dispose()
        conn = sqlite_driver.connect(path, isolation_level=None)  # the server's SQLite library
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-65536")
        batch_rows = rows[r * per_round : (r + 1) * per_round]
        start = time.perf_counter()
        for batch in batch_rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (id, account_id, ref, name, customer_alias, ts, data, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            conn.execute("COMMIT")
        rates.append(sum(len(b) for b in batch_rows) / (time.perf_counter() - start))
        conn.close()
    return statistics.median(rates)


# -- usage() -------------------------------------------------------------------------

PER_CUSTOMER = 10_000  # events per ordinary customer over the 90 days, whatever the dataset size
HEAVY = 0.10  # share of all events sent by one heavy customer
SPAN = 90 * DAY
BUILDS: dict[int, str] = {}
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
BATCHES = int(os.environ.get("BENCH_BATCHES", "40"))


def _dataset(size: int, cache: Path) -> tuple[Database, str, str]:
    """A SQLite file with `size` events over 90 days: 10 % from one heavy customer, the rest
    from size/10,000 ordinary customers of ~10,000 events each (their density does not change
    with the size). Loaded through the ingestion service in 50,000-event calls, one
    transaction each."""
    path = cache / f"usage-{size}-v4.db"
    meta = cache / f"usage-{size}-v4.json"
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        BUILDS[size] = f"cached (first built in {info.get('buildSeconds', '?')} s)"
        db = create_database(f"sqlite:///{path}")
        upgrade(db)  # a dataset cached before the last migration gets it, as `meterline serve` would
        return db, info["accountId"], info["meterId"]
    for stale in cache.glob(f"usage-{size}-v4.db*"):
        stale.unlink()
    db = create_database(f"sqlite:///{path}")
    upgrade(db)
    with transaction(db) as conn:
        account_id = auth_service.create_account(conn, name="bench").account_id
        meter_id = meters_service.create(conn, account_id=account_id, data=MeterCreate.model_validate(METER))["id"]
    rnd = random.Random(size)
    customers = max(1, size // PER_CUSTOMER)
    chunk = 50_000
    started = time.perf_counter()
    for lo in range(0, size, chunk):
        n = min(chunk, size - lo)
        start = T0 + lo * SPAN // size
        evs = [
            {
                "name": "api_call",
                "timestamp": _iso(start + i * SPAN // size),
                "customerAlias": "heavy" if rnd.random() < HEAVY else f"cust-{rnd.randrange(customers)}",
                "ref": f"u{lo + i:010d}",
                "data": {"value": VALUES[i % 5], "region": "eu" if i % 3 else "us"},
            }
            for i in range(n)
        ]
        with transaction(db) as conn:
            conn.exec_driver_sql("PRAGMA cache_size=-1000000")  # 1 GB page cache for the bulk load
            events_service.ingest(conn, account_id=account_id, events=evs, limit=chunk)
            backlog.fold_some(conn, limit=chunk)  # as the background folder would, in bulk
        if lo and lo % 1_000_000 == 0:
            console.print(f"  loaded {lo:,} / {size:,} events ({lo / (time.perf_counter() - started):,.0f}/s)")
    built = time.perf_counter() - started
    meta.write_text(json.dumps({"accountId": account_id, "meterId": meter_id, "buildSeconds": round(built)}))
    BUILDS[size] = f"built in {built:,.0f} s"
    return db, account_id, meter_id


def usage_latency(size: int, cache: Path, alias: str, calls: int = 300) -> tuple[float, Decimal]:
    db, account_id, meter_id = _dataset(size, cache)
    # A month window that aligns with no bucket: 2026-02-03 05:17:23.5 + 31 days.
    start = T0 + 33 * DAY + ((5 * 60 + 17) * 60 + 23) * 1_000_000 + 500_000
    end = start + 31 * DAY
    times = []
    value = Decimal(0)
    with db.engine.connect() as conn:
        for _ in range(calls):
            with conn.begin():
                t = time.perf_counter()
                value = usage(
                    conn, account_id=account_id, aliases=[alias], meter_id=meter_id, start_us=start, end_us=end
                )
                times.append(time.perf_counter() - t)
    db.dispose()
    return statistics.median(times) * 1000, value


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return (
        f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}, "
        f"SQLite {sqlite_driver.sqlite_version}"
    )


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,1000000,10000000").split(",")]
    cache = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / ".data"))
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            rates: dict[int, float] = {}
            folds: dict[int, float | None] = {}
            rows: list[list[tuple[Any, ...]]] = []
            for workers in WORKERS:
                console.print(f"HTTP ingestion, {shape} shape, {workers} server process(es) ...")
                rates[workers], rows, _, folds[workers] = http_ingest(rounds, BATCHES, Path(tmp), workers, shape=shape)
            console.print(f"floor, {shape} shape ...")
            bare = floor(rows, rounds, Path(tmp))
            for workers, rate in rates.items():
                label = f"serve --workers {workers}"
                results.append(
                    (
                        f"ingestion over HTTP, {shape} shape, 1000-event batches, SQLite durable, {label}",
                        f"{rate:,.0f} events/s",
                        "≥ 50,000 events/s" if shape == "live" else "",
                    )
                )
            results.append(
                (f"floor, {shape} shape: bare executemany, same rows, same durability", f"{bare:,.0f} events/s", "")
            )
            for workers, rate in rates.items():
                target = "≥ 0.30" if shape == "live" else "≥ 0.25"
                results.append(
                    (f"ingestion / floor, {shape} shape, serve --workers {workers}", f"{rate / bare:.3f}", target)
                )
            results += fold_rows(rates, folds, shape, "SQLite, after the")
    latencies: dict[tuple[str, int], float] = {}
    customers = (("cust-0", "ordinary customer (~10,000 events / 90 days)"), ("heavy", "heavy customer (10 % of all)"))
    for size in sizes:
        console.print(f"usage() at {size:,} events ...")
        for alias, label in customers:
            ms, value = usage_latency(size, cache, alias)
            latencies[(alias, size)] = ms
            results.append(
                (f"usage(), {label}, 31-day unaligned window, {size:,} events", f"{ms:.3f} ms (= {value})", "")
            )
    if len(sizes) > 1:
        for alias, _ in customers:
            ratio = latencies[(alias, sizes[-1])] / latencies[(alias, sizes[0])]
            target = "≤ 1.5x" if alias == "cust-0" else "none (grows with its events per hour at the edges)"
            results.append((f"usage() of {alias} at {sizes[-1]:,} / at {sizes[0]:,}", f"{ratio:.3f}x", target))
    table = Table("measure (median)", "result", "target")
    for row in results:
        table.add_row(*row)
    console.print(table)
    _append(results, time.perf_counter() - began)


def _append(results: list[tuple[str, str, str]], seconds: float) -> None:
    report.append(
        "Metering",
        [
            "Command: `make bench` (`python -m bench`); "
            f"env BENCH_SIZES={os.environ.get('BENCH_SIZES', '10000,1000000,10000000')}; ran {seconds:,.0f} s; "
            f"ingestion: {BATCHES} batches x {os.environ.get('BENCH_ROUNDS', '5')} rounds, "
            f"{CONNECTIONS} client connections (threads of the bench process, on the same machine)",
            f"Machine: {_machine()}",
            "Datasets (bench/.data, loaded through events.service.ingest in 50,000-event calls): "
            + ", ".join(f"{size:,} events {how}" for size, how in BUILDS.items()),
        ],
        ("measure (median)", "result", "target"),
        results,
    )
