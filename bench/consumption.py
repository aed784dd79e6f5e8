"""Consumption benchmark: GET /customers/products-consumptions/{id} over HTTP (p50, p99) for
a customer with 5 products, at 10 k, 1 M and 10 M stored events in the account, against the
floor measured in the same run on the same server: an authenticated endpoint returning a
constant (added to the app object only here).

The server is the real stack of `meterline serve` (uvicorn, uvloop, httptools, one process)
in a subprocess on a SQLite file; the client is one keep-alive http.client connection,
sequential requests, the floor and the consumption request interleaved so that noise on the
shared machine hits both alike.

Dataset (per size): 5 meters (Sum, Count, Max, Distinct, Last) on 5 event names; the events
spread over 90 days (2026-01-01 .. 2026-04-01): 10 % from one heavy customer, the rest from
size/10,000 ordinary customers of ~10,000 events each (the target customer `cust-0` is one
of them, so its window holds the same share whatever the size). The target has a contract
from 2026-01-01 with 5 monthly commitment lines (BLOCK, TOP_UP, IGNORE), two measurements
and a credit grant; requests ask ?at=2026-03-17T05:17:23.5Z (window Mar 1 .. at, unaligned).
A second customer, `hot` (same contract), has 26,000 events in the hour of `at`, all before
it: "a heavy current hour" (its read takes that hour's buckets whole, by their span, rather
than re-reading the events).
Events are loaded through meterline.events.service.ingest in 1000-event calls, 50 calls per
transaction (not over HTTP).

Environment: BENCH_SIZES (default "10000,1000000,10000000"), BENCH_DATA (dataset cache,
default bench/.data; datasets are reused), BENCH_REQUESTS (measured requests per endpoint
and size, default 3000), BENCH_WARMUP (default 300).
"""

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from meterline.auth import service as auth_service
from meterline.config import Settings
from meterline.db.engine import create_database, transaction
from meterline.db.migrate import upgrade
from meterline.events import service as events_service

ROOT = Path(__file__).resolve().parent.parent
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
DAY = 86_400_000_000
SPAN = 90 * DAY
AT = "2026-03-17T05:17:23.500000Z"
PER_CUSTOMER = 10_000
HEAVY = 0.10
SECRET = "bench-secret-" + "x" * 32
VERSION = "v2"  # v2: the "hot" customer (heavy current hour)
HOT_EVENTS = 26_000  # events of the hot customer in the hour of AT, before AT
VALUES = [Decimal("0.1"), Decimal("0.25"), Decimal("1"), Decimal("2.5"), Decimal("10")]
# (event name, operator, overage strategy, committed units)
PRODUCTS = [
    ("tokens", "Sum", "BLOCK", 100_000),
    ("calls", "Count", "TOP_UP", 5_000),
    ("peak", "Max", "IGNORE", 50),
    ("users", "Distinct", "BLOCK", 500),
    ("seats", "Last", "IGNORE", 20),
]
console = Console()


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _settings(path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        jwt_secret=SECRET,
        rate_limit_per_second=1e9,
        rate_limit_burst=1_000_000_000,
        background_jobs=False,
        log_level="WARNING",
    )


# -- dataset -------------------------------------------------------------------------


def _setup(path: Path) -> dict[str, Any]:
    """Account, customer, meters, catalog products, contract, measurements, credits: over
    the app in-process (the same validation as HTTP)."""
    from meterline.app import create_app

    db = create_database(f"sqlite:///{path}")
    upgrade(db)
    with transaction(db) as conn:
        created = auth_service.create_account(conn, name="bench")
    app = create_app(_settings(path), db=db)
    with TestClient(app) as c:
        token = c.post("/login", json={"refreshToken": created.api_key}).json()["accessToken"]
        c.headers["Authorization"] = f"Bearer {token}"

        def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
            resp = c.post(url, json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()  # type: ignore[no-any-return]

        cid = post("/customers", {"name": "Target", "aliases": ["cust-0", "cust-0-eu"]})["customer"]["id"]
        lines, meters = [], []
        for name, op, strategy, units in PRODUCTS:
            agg: dict[str, Any] = {"operator": op}
            if op != "Count":
                agg["field"] = "user" if op == "Distinct" else "value"
            meter = post("/meters", {"name": f"{op} {name}", "eventName": name, "aggregationMethod": agg})["meter"]
            meters.append(meter["id"])
            pid = post("/catalogProducts", {"name": name.title(), "meterId": meter["id"]})["catalogProduct"]["id"]
            lines.append(
                {
                    "catalogProductId": pid,
                    "displayName": name,
                    "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
                    "pricing": {"type": "PER_UNIT", "price": 0.01},
                    "commitment": {"units": units, "price": 10, "overageStrategy": strategy},
                }
            )
        post("/contracts", {"name": "Bench", "customerId": cid, "startDate": _iso(T0), "products": lines})
        for meter_id, day, value in ((meters[0], 3, 1234.5), (meters[1], 9, 17)):
            post(
                "/measurements",
                {
                    "customerId": cid,
                    "meterId": meter_id,
                    "usageDate": {"year": 2026, "month": 3, "day": day},
                    "value": value,
                },
            )
        post("/credits/grant", {"customerId": cid, "creditAmount": 100})
        hot = post("/customers", {"name": "Hot", "aliases": ["hot"]})["customer"]["id"]
        post("/contracts", {"name": "Bench hot", "customerId": hot, "startDate": _iso(T0), "products": lines})
    db.dispose()
    return {"accountId": created.account_id, "apiKey": created.api_key, "customerId": cid, "hotCustomerId": hot}


def _hot_events(rnd: random.Random) -> list[dict[str, Any]]:
    """The hot customer's events: spread over the hour of AT up to AT."""
    at = int(datetime.fromisoformat(AT.replace("Z", "+00:00")).timestamp() * 1_000_000)
    hour = at - at % 3_600_000_000
    return [
        {
            "name": PRODUCTS[i % 5][0],
            "timestamp": _iso(hour + i * (at - hour) // HOT_EVENTS),
            "customerAlias": "hot",
            "ref": f"hot{i:08d}",
            "data": {"value": VALUES[rnd.randrange(5)], "user": f"u{rnd.randrange(2000)}"},
        }
        for i in range(HOT_EVENTS)
    ]


def _events(lo: int, n: int, size: int, customers: int, rnd: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(lo, lo + n):
        name = PRODUCTS[i % 5][0]
        out.append(
            {
                "name": name,
                "timestamp": _iso(T0 + i * SPAN // size),
                "customerAlias": "heavy" if rnd.random() < HEAVY else f"cust-{rnd.randrange(customers)}",
                "ref": f"e{i:010d}",
                "data": {"value": VALUES[rnd.randrange(5)], "user": f"u{rnd.randrange(2000)}"},
            }
        )
    return out


def dataset(size: int, cache: Path) -> tuple[Path, dict[str, Any]]:
    path = cache / f"consumption-{size}-{VERSION}.db"
    meta = cache / f"consumption-{size}-{VERSION}.json"
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())
    for stale in cache.glob(f"consumption-{size}-{VERSION}.db*"):
        stale.unlink()
    info = _setup(path)
    db = create_database(f"sqlite:///{path}")
    rnd = random.Random(size)
    customers = max(1, size // PER_CUSTOMER)
    chunk = 50_000
    started = time.perf_counter()
    for lo in range(0, size, chunk):
        n = min(chunk, size - lo)
        evs = _events(lo, n, size, customers, rnd)
        with transaction(db) as conn:
            conn.exec_driver_sql("PRAGMA cache_size=-500000")
            for i in range(0, n, 1000):
                events_service.ingest(conn, account_id=info["accountId"], events=evs[i : i + 1000])
        if lo and lo % 1_000_000 == 0:
            console.print(f"  loaded {lo:,} / {size:,} events ({lo / (time.perf_counter() - started):,.0f}/s)")
    hot = _hot_events(rnd)
    with transaction(db) as conn:
        for i in range(0, len(hot), 1000):
            events_service.ingest(conn, account_id=info["accountId"], events=hot[i : i + 1000])
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    db.dispose()
    info["loadSeconds"] = round(time.perf_counter() - started, 1)
    meta.write_text(json.dumps(info))
    return path, info


# -- server --------------------------------------------------------------------------


def serve(path: str, port: int) -> None:
    """The bench server: the app of `meterline serve` plus the floor endpoint."""
    import uvicorn
    from fastapi import Request

    from meterline.app import create_app
    from meterline.db.session import run_read
    from meterline.kit.auth import CurrentAccount
    from meterline.kit.routing import JSONResp, ok

    app = create_app(_settings(Path(path)))

    @app.get("/bench/floor")
    async def floor(account: CurrentAccount) -> JSONResp:
        return ok({"ok": True})

    @app.get("/bench/floor-read")
    async def floor_read(request: Request, account: CurrentAccount) -> JSONResp:
        """The floor plus what the consumption read pays besides its queries: an empty read
        transaction, run as the endpoint runs it (run_read, small: on the loop on SQLite)."""
        return ok({"ok": await run_read(request, lambda conn: True, small=True)})

    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False, log_level="warning"
    )


def _start(path: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.consumption", "serve", str(path), str(port)], cwd=ROOT)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            c.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def measure(path: Path, info: dict[str, Any], requests: int, warmup: int) -> dict[str, Any]:
    port = 19000 + os.getpid() % 1000
    db = create_database(f"sqlite:///{path}")
    upgrade(db)  # as `meterline serve` does first: migrations, and the ANALYZE's stat4 samples dropped
    db.dispose()
    proc = _start(path, port)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("POST", "/login", json.dumps({"refreshToken": info["apiKey"]}), {"content-type": "application/json"})
        token = json.loads(c.getresponse().read())["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/customers/products-consumptions/{info['customerId']}?at={AT}"
        hot_url = f"/customers/products-consumptions/{info['hotCustomerId']}?at={AT}"

        def get(target: str) -> tuple[float, bytes]:
            t = time.perf_counter()
            c.request("GET", target, headers=headers)
            resp = c.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - t
            assert resp.status == 200, body[:300]
            return elapsed, body

        for _ in range(warmup):
            get("/bench/floor")
            get("/bench/floor-read")
            get(url)
            get(hot_url)
        floor_t, read_t, cons_t, hot_t = [], [], [], []
        body = b""
        for _ in range(requests):
            floor_t.append(get("/bench/floor")[0])
            read_t.append(get("/bench/floor-read")[0])
            elapsed, body = get(url)
            cons_t.append(elapsed)
            hot_t.append(get(hot_url)[0])
        c.close()
        entries = json.loads(body)["productsConsumptions"]
        return {
            "p50": _pct(cons_t, 0.50),
            "p99": _pct(cons_t, 0.99),
            "floor_p50": _pct(floor_t, 0.50),
            "floor_p99": _pct(floor_t, 0.99),
            "read_p50": _pct(read_t, 0.50),
            "read_p99": _pct(read_t, 0.99),
            "hot_p50": _pct(hot_t, 0.50),
            "hot_p99": _pct(hot_t, 0.99),
            "consumed": {e["productName"]: e["consumedAmount"] for e in entries},
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    from bench.metering import _machine

    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,1000000,10000000").split(",")]
    requests = int(os.environ.get("BENCH_REQUESTS", "3000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "300"))
    cache = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / ".data"))
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    res: dict[int, dict[str, Any]] = {}
    for size in sizes:
        console.print(f"dataset {size:,} events ...")
        path, info = dataset(size, cache)
        console.print(f"measuring at {size:,} events ...")
        res[size] = measure(path, info, requests, warmup)
        console.print(f"  {res[size]}")
    rows: list[tuple[str, str, str]] = []
    for size in sizes:
        r = res[size]
        target = "p50 ≤ 2 ms, p99 ≤ 10 ms" if size >= 10_000_000 else ""
        rows.append(
            (
                f"products-consumptions, 5 products, {size:,} events",
                f"p50 {r['p50']:.3f} ms, p99 {r['p99']:.3f} ms",
                target,
            )
        )
        rows.append(
            (
                f"floor (authenticated constant), same server, {size:,} events",
                f"p50 {r['floor_p50']:.3f} ms, p99 {r['floor_p99']:.3f} ms",
                "",
            )
        )
        rows.append(
            (
                f"floor + empty read transaction, {size:,} events",
                f"p50 {r['read_p50']:.3f} ms, p99 {r['read_p99']:.3f} ms",
                "",
            )
        )
        rows.append((f"p50 / floor p50 at {size:,}", f"{r['p50'] / r['floor_p50']:.3f}x", "≤ 2x"))
        rows.append(
            (
                f"heavy current hour: customer with {HOT_EVENTS:,} events in the hour of `at`, {size:,} events",
                f"p50 {r['hot_p50']:.3f} ms, p99 {r['hot_p99']:.3f} ms",
                "",
            )
        )
        hot_ratio = r["hot_p50"] / r["floor_p50"]
        rows.append((f"heavy current hour p50 / floor p50 at {size:,}", f"{hot_ratio:.3f}x", "≤ 2x"))
    if len(sizes) > 1:
        ratio = res[sizes[-1]]["p50"] / res[sizes[0]]["p50"]
        rows.append((f"p50 at {sizes[-1]:,} / p50 at {sizes[0]:,}", f"{ratio:.3f}x", "≤ 1.5x"))
    table = Table("measure", "result", "target")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    consumed = "; ".join(f"{s:,}: {json.dumps(res[s]['consumed'])}" for s in sizes)
    _append(rows, time.perf_counter() - began, _machine(), requests, warmup, consumed)


def _append(
    rows: list[tuple[str, str, str]], seconds: float, machine: str, requests: int, warmup: int, consumed: str
) -> None:
    lines = [
        "",
        f"## Consumption endpoint — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "Command: `make bench` (`python -m bench`, or `python -m bench consumption` alone); "
        f"env BENCH_SIZES={os.environ.get('BENCH_SIZES', '10000,1000000,10000000')}; "
        f"{requests} measured requests per endpoint and size after {warmup} warm-up pairs, "
        f"one keep-alive connection, sequential; ran {seconds:,.0f} s (datasets cached in bench/.data)",
        f"Machine: {machine}",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"Consumed amounts answered (target customer, window 2026-03-01 .. {AT}): {consumed}",
        "",
    ]
    path = ROOT / "BENCHMARKS.md"
    if not path.exists():
        path.write_text("# Benchmarks\n")
    with path.open("a") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
