"""PostgreSQL benchmark (`python -m bench postgres`, part of `make bench`): ingestion over
HTTP against the database's floor, and the consumption read at 10 k and 1 M stored events,
all figures from one run, appended to BENCHMARKS.md.

- Ingestion: `meterline serve --workers 1` and `2` on a fresh schema, three meters (Sum,
  Count, Distinct) on the event name, 1000-event batches from BENCH_CONNECTIONS client
  connections, in the two traffic shapes of bench.metering (live, backfill).
- Floor, same run: the same request bodies decoded (orjson, as the server) and their rows
  written with COPY into the events table of a freshly migrated schema (same columns,
  unique key and indexes), synchronous_commit on (the server's durability), one commit per
  1000 rows, one process.
- Consumption: bench.consumption's dataset and measurement on a PostgreSQL schema (kept
  between runs, like the SQLite files), p50/p99 against the authenticated constant endpoint
  of the same server; at the first size also the seed's read (no ?at=, window ending now)
  of a customer with BENCH_HOT_EVENTS events in the current hour.

Environment: BENCH_PG_URL (default the machine's postgresql+psycopg://postgres@127.0.0.1:5432/test),
BENCH_PG_SIZES ("10000,1000000"; empty: ingestion only), BENCH_HOT_EVENTS (30000), and bench.metering's and
bench.consumption's variables (rounds, batches, connections, requests, warm-up).
"""

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from rich.table import Table

from bench import report
from meterline.db.engine import create_database
from meterline.db.migrate import upgrade
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def _admin() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def schema_exists(schema: str) -> bool:
    engine = _admin()
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(s)s", {"s": schema}
        ).first()
    engine.dispose()
    return found is not None


def recreate_schema(schema: str) -> None:
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()


def drop_schema(schema: str) -> None:
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


_COLUMNS = "id, account_id, ref, name, customer_alias, ts, data, created_at"


def copy_floor(bodies: list[bytes], rounds: int) -> float:
    """Median rows/s of decoding these request bodies and COPYing their rows into a freshly
    migrated events table, one commit per body (1000 rows), one process."""
    rates = []
    per_round = max(1, len(bodies) // rounds)
    for r in range(rounds):
        schema = f"bench_floor_{os.getpid()}_{r}"
        recreate_schema(schema)
        db = create_database(schema_url(schema))
        upgrade(db)
        db.dispose()
        chunk = bodies[r * per_round : (r + 1) * per_round]
        n = 0
        with psycopg.connect(_libpq(PG_URL), options=f"-csearch_path={schema}") as conn:
            conn.execute("SET synchronous_commit = on")
            conn.commit()
            start = time.perf_counter()
            for body in chunk:
                events = jsonenc.loads(body)["events"]
                with conn.cursor() as cur:
                    copy_sql = (
                        "COPY events (id, account_id, ref, name, customer_alias, ts, data, created_at) FROM STDIN"
                    )
                    with cur.copy(copy_sql) as copy:
                        for e in events:
                            n += 1
                            copy.write_row(
                                (
                                    f"{n:024x}",
                                    "a" * 24,
                                    e["ref"],
                                    e["name"],
                                    e["customerAlias"],
                                    to_us(parse_instant(e["timestamp"], param="timestamp")),
                                    jsonenc.dumps(e["data"]).decode(),
                                    0,
                                )
                            )
                conn.commit()
            rates.append(n / (time.perf_counter() - start))
        drop_schema(schema)
    return statistics.median(rates)


def _pg_version() -> str:
    engine = _admin()
    with engine.connect() as conn:
        version = str(conn.exec_driver_sql("SHOW server_version").scalar_one())
    engine.dispose()
    return version


def main() -> None:
    from bench import consumption, metering

    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    # BENCH_PG_SIZES= (empty): the ingestion part alone, no consumption dataset.
    sizes = [int(s) for s in os.environ.get("BENCH_PG_SIZES", "10000,1000000").split(",") if s]
    hot_events = int(os.environ.get("BENCH_HOT_EVENTS", "30000"))
    requests = int(os.environ.get("BENCH_REQUESTS", "3000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "300"))
    cache = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / ".data"))
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    rows: list[tuple[str, str, str]] = []
    console = metering.console
    with tempfile.TemporaryDirectory() as tmp:
        for shape in metering.SHAPES:
            rates: dict[int, float] = {}
            folds: dict[int, float | None] = {}
            bodies: list[bytes] = []
            for workers in (1, 2):
                schema = f"bench_ingest_{os.getpid()}_{shape}_{workers}"
                recreate_schema(schema)
                console.print(f"PostgreSQL ingestion, {shape} shape, --workers {workers} ...")
                try:
                    rates[workers], _, bodies, folds[workers] = metering.http_ingest(
                        rounds,
                        metering.BATCHES,
                        Path(tmp),
                        workers,
                        database_url=schema_url(schema),
                        shape=shape,
                        meters=metering.THREE_METERS,
                    )
                finally:
                    drop_schema(schema)
            console.print(f"PostgreSQL floor (COPY), {shape} shape ...")
            floor = copy_floor(bodies, rounds)
            for workers, rate in rates.items():
                rows.append(
                    (
                        f"ingestion over HTTP, {shape} shape, 3 meters, serve --workers {workers}",
                        f"{rate:,.0f} events/s",
                        "",
                    )
                )
            rows.append((f"floor, {shape} shape: decode + COPY, 1000 rows per commit", f"{floor:,.0f} rows/s", ""))
            for workers, rate in rates.items():
                target = "≥ 0.5" if workers == 2 else ""
                rows.append((f"ingestion / floor, {shape} shape, --workers {workers}", f"{rate / floor:.3f}", target))
            rows += metering.fold_rows(rates, folds, shape, "PostgreSQL, after the")
    res: dict[int, dict[str, Any]] = {}
    for k, size in enumerate(sizes):
        console.print(f"PostgreSQL consumption dataset {size:,} events ...")
        url, info = consumption.dataset(size, cache, backend="postgres")
        console.print(f"measuring at {size:,} events ...")
        res[size] = consumption.measure(url, info, requests, warmup, hot_events=hot_events if k == 0 else 0)
        console.print(f"  {res[size]}")
    for size in sizes:
        r = res[size]
        rows.append(
            (
                f"products-consumptions, 5 products, {size:,} events",
                f"p50 {r['p50']:.3f} ms, p99 {r['p99']:.3f} ms",
                "",
            )
        )
        rows.append(
            (
                f"floor (authenticated constant), same server, {size:,} events",
                f"p50 {r['floor_p50']:.3f} ms, p99 {r['floor_p99']:.3f} ms",
                "",
            )
        )
        rows += consumption.ratio_rows(r, size, hot_events)
    if len(sizes) > 1:
        ratio = res[sizes[1]]["p50"] / res[sizes[0]]["p50"]
        rows.append((f"p50 at {sizes[1]:,} / p50 at {sizes[0]:,}", f"{ratio:.3f}x", "≤ 1.3x"))
    table = Table("measure", "result", "target")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    _append(rows, time.perf_counter() - began, sizes, hot_events)


def _append(rows: list[tuple[str, str, str]], seconds: float, sizes: list[int], hot: int) -> None:
    from bench import consumption, metering

    report.append(
        "PostgreSQL",
        [
            "Command: `make bench` (`python -m bench`, or `python -m bench postgres` alone); "
            f"sizes {','.join(str(s) for s in sizes)}, hot-hour events {hot}; ran {seconds:,.0f} s; "
            f"ingestion: {metering.BATCHES} batches x {os.environ.get('BENCH_ROUNDS', '5')} rounds, "
            f"{metering.CONNECTIONS} client connections; consumption: "
            f"{os.environ.get('BENCH_REQUESTS', '3000')} requests per endpoint after "
            f"{os.environ.get('BENCH_WARMUP', '300')} warm-ups, one keep-alive connection "
            f"(datasets: schemas bench_consumption_*_{consumption.VERSION}, kept between runs)",
            f"Machine: {metering._machine()}, PostgreSQL {_pg_version()} on the same host (default settings, "
            "synchronous_commit on)",
        ],
        ("measure", "result", "target"),
        rows,
    )
