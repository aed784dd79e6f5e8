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
Events are loaded through meterline.events.service.ingest in 1000-event calls, 50 calls per
transaction (not over HTTP).

At the first size the run also measures the seed's read with no ?at= (the window ends now)
of a second customer, `hot`, after BENCH_HOT_EVENTS (30,000) of its events were sent over
HTTP with timestamps in the current hour: the read must not re-read them on every request.

Repeated reads of one customer with nothing changed between them are served by the read
cache (consumption/cache.py) after its one-statement check: the measured figure. The run
also measures, interleaved, the same reads computed every time (a bench endpoint calling
consumption.service as the endpoint did before the cache): what a read costs right after
the customer's data changed. Every computed answer must equal the served one.

The same dataset and measurement serve PostgreSQL (bench/pg.py: a schema instead of a file).

Environment: BENCH_SIZES (default "10000,1000000,10000000"), BENCH_DATA (dataset cache,
default bench/.data; datasets are reused), BENCH_REQUESTS (measured requests per endpoint
and size, default 3000), BENCH_WARMUP (default 300), BENCH_HOT_EVENTS (30000).
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

from bench import metering, report
from meterline.auth import service as auth_service
from meterline.config import Settings
from meterline.db.engine import create_database, transaction
from meterline.db.migrate import upgrade
from meterline.events import service as events_service
from meterline.usage import backlog

ROOT = Path(__file__).resolve().parent.parent
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
DAY = 86_400_000_000
SPAN = 90 * DAY
AT = "2026-03-17T05:17:23.500000Z"
PER_CUSTOMER = 10_000
HEAVY = 0.10
SECRET = "bench-secret-" + "x" * 32
VERSION = "v2"
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


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        jwt_secret=SECRET,
        rate_limit_per_second=1e9,
        rate_limit_burst=1_000_000_000,
        background_jobs=False,
        log_level="WARNING",
    )


# -- dataset -------------------------------------------------------------------------


def _setup(url: str) -> dict[str, Any]:
    """Account, customer, meters, catalog products, contract, measurements, credits: over
    the app in-process (the same validation as HTTP). A second customer, `hot` (alias
    `hot`), has the same contract: the heavy-current-hour read (hot_hour) sends it events."""
    from meterline.app import create_app

    db = create_database(url)
    upgrade(db)
    with transaction(db) as conn:
        created = auth_service.create_account(conn, name="bench")
    app = create_app(_settings(url), db=db)
    with TestClient(app) as c:
        token = c.post("/login", json={"refreshToken": created.api_key}).json()["accessToken"]
        c.headers["Authorization"] = f"Bearer {token}"

        def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
            resp = c.post(url, json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()  # type: ignore[no-any-return]

        cid = post("/customers", {"name": "Target", "aliases": ["cust-0", "cust-0-eu"]})["customer"]["id"]
        hot = post("/customers", {"name": "Hot", "aliases": ["hot"]})["customer"]["id"]
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
        for customer in (cid, hot):
            post("/contracts", {"name": "Bench", "customerId": customer, "startDate": _iso(T0), "products": lines})
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
    db.dispose()
    return {"accountId": created.account_id, "apiKey": created.api_key, "customerId": cid, "hotCustomerId": hot}


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


def _migrated(url: str) -> str:
    """A kept dataset brought to the code's schema head (new tables start empty)."""
    db = create_database(url)
    try:
        upgrade(db)
    finally:
        db.dispose()
    return url


def dataset(size: int, cache: Path, backend: str = "sqlite") -> tuple[str, dict[str, Any]]:
    """The dataset of `size` events: a SQLite file in `cache`, or a PostgreSQL schema
    (bench.pg) with its description in `cache`; built once, then reused. Answers (url, info)."""
    from bench import pg

    name = f"consumption-{size}-{VERSION}"
    meta = cache / (f"pg-{name}.json" if backend == "postgres" else f"{name}.json")
    if backend == "postgres":
        schema = f"bench_consumption_{size}_{VERSION}"
        url = pg.schema_url(schema)
        if meta.exists() and pg.schema_exists(schema):
            return _migrated(url), json.loads(meta.read_text())
        pg.recreate_schema(schema)
    else:
        path = cache / f"{name}.db"
        url = f"sqlite:///{path}"
        if path.exists() and meta.exists():
            return _migrated(url), json.loads(meta.read_text())
        for stale in cache.glob(f"{name}.db*"):
            stale.unlink()
    info = _setup(url)
    db = create_database(url)
    rnd = random.Random(size)
    customers = max(1, size // PER_CUSTOMER)
    chunk = 50_000
    started = time.perf_counter()
    for lo in range(0, size, chunk):
        n = min(chunk, size - lo)
        evs = _events(lo, n, size, customers, rnd)
        with transaction(db) as conn:
            if db.is_sqlite:
                conn.exec_driver_sql("PRAGMA cache_size=-500000")
            for i in range(0, n, 1000):
                events_service.ingest(conn, account_id=info["accountId"], events=evs[i : i + 1000])
            backlog.fold_some(conn, limit=n)  # as the background folder would, in bulk
        if lo and lo % 1_000_000 == 0:
            console.print(f"  loaded {lo:,} / {size:,} events ({lo / (time.perf_counter() - started):,.0f}/s)")
    with db.engine.connect() as conn:
        if not db.is_sqlite:  # the backlog's dead rows (the folder would vacuum them as it goes)
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM rollup_backlog")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    db.dispose()
    info["loadSeconds"] = round(time.perf_counter() - started, 1)
    meta.write_text(json.dumps(info))
    return url, info


# -- server --------------------------------------------------------------------------


def serve(url: str, port: int) -> None:
    """The bench server: the app of `meterline serve` plus the floor endpoint."""
    import uvicorn
    from fastapi import Request

    from meterline.app import create_app
    from meterline.db.session import run_read
    from meterline.kit.auth import CurrentAccount
    from meterline.kit.routing import JSONResp, ok

    app = create_app(_settings(url))

    @app.get("/bench/floor")
    async def floor(account: CurrentAccount) -> JSONResp:
        return ok({"ok": True})

    @app.get("/bench/floor-read")
    async def floor_read(request: Request, account: CurrentAccount) -> JSONResp:
        """The floor plus what the consumption read pays besides its queries: an empty read
        transaction, run as the endpoint runs it (run_read, small: on the loop on SQLite)."""
        return ok({"ok": await run_read(request, lambda conn: True, small=True)})

    @app.get("/bench/computed/{customer_id}")
    async def computed(request: Request, customer_id: str, account: CurrentAccount, at: str | None = None) -> JSONResp:
        """The seed's read computed every time, as without the read cache (consumption/cache.py):
        what a read costs when the customer's data changed since the last one."""
        from meterline.consumption import service
        from meterline.kit.times import now_us, parse_instant, to_us

        at_us = now_us() if at is None else to_us(parse_instant(at, param="at"))
        read = lambda conn: service.for_customer(  # noqa: E731
            conn, account_id=account.account_id, customer_id=customer_id, at_us=at_us
        )
        return ok({"productsConsumptions": await run_read(request, read, small=True)})

    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False, log_level="warning"
    )


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    # The server's JSON log lines (access log included) to a file beside the datasets, as a
    # deployment writes them to a pipe or a file, not to this terminal.
    (ROOT / "bench" / ".data").mkdir(exist_ok=True)
    with (ROOT / "bench" / ".data" / "consumption-server.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.consumption", "serve", url, str(port)], cwd=ROOT, stderr=log
        )
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


def _send_hot(c: http.client.HTTPConnection, headers: dict[str, str], n: int) -> None:
    """n events of customer `hot` (5 names in turn) with timestamps spread over the current
    hour up to a second ago, sent over HTTP in 1000-event batches."""
    now = time.time_ns() // 1000 - 1_000_000
    hour = now - now % 3_600_000_000
    rnd = random.Random(n)
    for lo in range(0, n, 1000):
        evs = [
            {
                "name": PRODUCTS[i % 5][0],
                "timestamp": _iso(hour + (now - hour) * i // n),
                "customerAlias": "hot",
                "ref": f"hot-{now}-{i}",
                "data": {"value": VALUES[i % 5], "user": f"u{rnd.randrange(2000)}"},
            }
            for i in range(lo, min(n, lo + 1000))
        ]
        c.request(
            "POST", "/events", json.dumps({"events": evs}, default=str), {**headers, "content-type": "application/json"}
        )
        resp = c.getresponse()
        answer = resp.read()
        assert resp.status == 200 and answer.endswith(b'"invalidEvents":[]}'), answer[-300:]


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def measure(url: str, info: dict[str, Any], requests: int, warmup: int, *, hot_events: int = 0) -> dict[str, Any]:
    """p50/p99 of the consumption read of the target customer (?at= fixed), of the
    authenticated constant floor and of the floor plus an empty read, interleaved. With
    hot_events: also the seed's read with no ?at= (window ending now) of customer `hot`
    after `hot_events` events were sent for it within the current hour (and folded: the
    bench server runs no background job, so the bench folds them as the folder would)."""
    port = 19000 + os.getpid() % 1000
    db = create_database(url)
    upgrade(db)  # as `meterline serve` does first: migrations, and the ANALYZE's stat4 samples dropped
    db.dispose()
    proc = _start(url, port)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("POST", "/login", json.dumps({"refreshToken": info["apiKey"]}), {"content-type": "application/json"})
        token = json.loads(c.getresponse().read())["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        target = f"/customers/products-consumptions/{info['customerId']}?at={AT}"
        computed = f"/bench/computed/{info['customerId']}?at={AT}"
        hot = f"/customers/products-consumptions/{info['hotCustomerId']}"
        hot_computed = f"/bench/computed/{info['hotCustomerId']}"
        if hot_events:
            _send_hot(c, headers, hot_events)
            metering.fold_rate(url)  # what the folder of a server with background jobs does

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
            get(target)
            get(computed)
            if hot_events:
                get(hot)
                get(hot_computed)
        floor_t, read_t, cons_t, hot_t, comp_t, hot_comp_t = [], [], [], [], [], []
        body = hot_body = b""
        for _ in range(requests):
            floor_t.append(get("/bench/floor")[0])
            read_t.append(get("/bench/floor-read")[0])
            elapsed, body = get(target)
            cons_t.append(elapsed)
            elapsed, again = get(computed)
            comp_t.append(elapsed)
            assert again == body  # the cached answer is the computed one
            if hot_events:
                elapsed, hot_body = get(hot)
                hot_t.append(elapsed)
                hot_comp_t.append(get(hot_computed)[0])
        c.close()
        entries = json.loads(body)["productsConsumptions"]
        extra: dict[str, Any] = {}
        if hot_events:
            extra = {
                "hot_p50": _pct(hot_t, 0.50),
                "hot_p99": _pct(hot_t, 0.99),
                "hot_computed_p50": _pct(hot_comp_t, 0.50),
                "hot_computed_p99": _pct(hot_comp_t, 0.99),
                "hot_consumed": {
                    e["productName"]: e["consumedAmount"] for e in json.loads(hot_body)["productsConsumptions"]
                },
            }
        return {
            **extra,
            "p50": _pct(cons_t, 0.50),
            "p99": _pct(cons_t, 0.99),
            "computed_p50": _pct(comp_t, 0.50),
            "computed_p99": _pct(comp_t, 0.99),
            "floor_p50": _pct(floor_t, 0.50),
            "floor_p99": _pct(floor_t, 0.99),
            "read_p50": _pct(read_t, 0.50),
            "read_p99": _pct(read_t, 0.99),
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
    hot_events = int(os.environ.get("BENCH_HOT_EVENTS", "30000"))
    for k, size in enumerate(sizes):
        console.print(f"dataset {size:,} events ...")
        url, info = dataset(size, cache)
        console.print(f"measuring at {size:,} events ...")
        res[size] = measure(url, info, requests, warmup, hot_events=hot_events if k == 0 else 0)
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
        rows += ratio_rows(r, size, hot_events)
    if len(sizes) > 1:
        ratio = res[sizes[-1]]["p50"] / res[sizes[0]]["p50"]
        rows.append((f"p50 at {sizes[-1]:,} / p50 at {sizes[0]:,}", f"{ratio:.3f}x", "≤ 1.5x"))
    table = Table("measure", "result", "target")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    consumed = "; ".join(f"{s:,}: {json.dumps(res[s]['consumed'])}" for s in sizes)
    _append(rows, time.perf_counter() - began, _machine(), requests, warmup, consumed)


def ratio_rows(r: dict[str, Any], size: int, hot_events: int) -> list[tuple[str, str, str]]:
    """The rows of one size's measure() against its floor (SQLite's section and PostgreSQL's)."""
    rows = [
        (f"p50 / floor p50 at {size:,}", f"{r['p50'] / r['floor_p50']:.3f}x", "≤ 2x"),
        (
            f"the same read computed (no cached answer: after a change), {size:,} events",
            f"p50 {r['computed_p50']:.3f} ms, p99 {r['computed_p99']:.3f} ms "
            f"({r['computed_p50'] / r['floor_p50']:.3f}x the floor)",
            "",
        ),
    ]
    if "hot_p50" in r:
        rows.append(
            (
                f"seed's read (window ending now), customer with {hot_events:,} events in the current hour",
                f"p50 {r['hot_p50']:.3f} ms, p99 {r['hot_p99']:.3f} ms (= {r['hot_consumed']})",
                "",
            )
        )
        rows.append(("hot-hour read p50 / floor p50", f"{r['hot_p50'] / r['floor_p50']:.3f}x", "≤ 2x"))
        rows.append(
            (
                "hot-hour read computed (no cached answer)",
                f"p50 {r['hot_computed_p50']:.3f} ms, p99 {r['hot_computed_p99']:.3f} ms "
                f"({r['hot_computed_p50'] / r['floor_p50']:.3f}x the floor)",
                "",
            )
        )
    return rows


def _append(
    rows: list[tuple[str, str, str]], seconds: float, machine: str, requests: int, warmup: int, consumed: str
) -> None:
    report.append(
        "Consumption endpoint",
        [
            "Command: `make bench` (`python -m bench`, or `python -m bench consumption` alone); "
            f"env BENCH_SIZES={os.environ.get('BENCH_SIZES', '10000,1000000,10000000')}; "
            f"{requests} measured requests per endpoint and size after {warmup} warm-up pairs, "
            f"one keep-alive connection, sequential; ran {seconds:,.0f} s (datasets cached in bench/.data)",
            f"Machine: {machine}",
        ],
        ("measure", "result", "target"),
        rows,
        [f"Consumed amounts answered (target customer, window 2026-03-01 .. {AT}): {consumed}"],
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
