"""What metrics and the access log cost on the two hot paths, as A/B runs of the same
servers (`python -m bench overhead`, part of `make bench`):

- A: METERLINE_METRICS=0, METERLINE_ACCESS_LOG=0 (the baseline)
- B: METERLINE_METRICS=1, METERLINE_ACCESS_LOG=0 (what metrics cost; target < 3 %)
- C: METERLINE_METRICS=1, METERLINE_ACCESS_LOG=1 (the defaults)

Ingestion: events/s over HTTP to `meterline serve` (bench.metering.http_ingest, 1000-event
batches). Consumption: p50 of products-consumptions (bench.consumption.measure, 10,000-event
dataset). Variants are interleaved (A B C, A B C, ...) so that load drifting on a shared
machine spreads over all three; the median of the rounds is reported.

Before the A/B runs, the recording itself is timed in isolation (`micro`, min of repeats
of 20,000 calls, in a fresh process per mode: one process, and prometheus-client's
multiprocess mode as `--workers N` uses it): CPU per request that is independent of load on
a shared machine, set against the path costs the A/B runs measure.

Environment: BENCH_OVERHEAD_ROUNDS (3), BENCH_OVERHEAD_BATCHES (1000-event batches per
ingestion run, 20), BENCH_OVERHEAD_REQUESTS (consumption requests per run, 2000),
BENCH_OVERHEAD_AB=0 to time the recording only.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import consumption, metering, report

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "A (metrics off, access log off)": {"METERLINE_METRICS": "0", "METERLINE_ACCESS_LOG": "0"},
    "B (metrics on, access log off)": {"METERLINE_METRICS": "1", "METERLINE_ACCESS_LOG": "0"},
    "C (metrics on, access log on: the defaults)": {"METERLINE_METRICS": "1", "METERLINE_ACCESS_LOG": "1"},
}
console = Console()


def micro() -> dict[str, float]:
    """µs per call (min of 5 repeats of 20,000) of what a request records; run in a fresh
    process (the metrics mode is chosen when prometheus-client is imported)."""
    import logging

    from meterline.kit import metrics
    from meterline.logs import configure_logging, write_line

    configure_logging("INFO")  # stderr: /dev/null in the parent's subprocess call
    route = "/customers/products-consumptions/{customerId}"
    out = {}

    def per_call(fn: object) -> float:
        return min(timeit.repeat(fn, number=20_000, repeat=5)) / 20_000 * 1e6  # type: ignore[arg-type]

    out["request"] = per_call(lambda: metrics.request_done("GET", route, 200, 0.0011))

    def batch() -> None:
        metrics.request_done("POST", "/events", 200, 0.017)
        metrics.INGEST_SECONDS.observe(0.016)
        metrics.events_counted(1000, 0, 0)

    out["ingestion_batch"] = per_call(batch)
    fields = {
        "method": "GET",
        "path": "/customers/x",
        "route": route,
        "status": 200,
        "duration_ms": 1.1,
        "account_id": "a" * 24,
    }
    out["access_line"] = per_call(lambda: write_line("meterline.access", "request", fields))
    logging.shutdown()
    return out


def _micro_in(multiprocess: bool) -> dict[str, float]:
    env = {**os.environ}
    with tempfile.TemporaryDirectory() as d:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = d
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        out = subprocess.run(
            [sys.executable, "-m", "bench.overhead", "micro"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def _with_env(env: dict[str, str]) -> None:
    os.environ.update(env)  # the servers are subprocesses: they read their settings from it


def main() -> None:
    rounds = int(os.environ.get("BENCH_OVERHEAD_ROUNDS", "3"))
    batches = int(os.environ.get("BENCH_OVERHEAD_BATCHES", "20"))
    requests = int(os.environ.get("BENCH_OVERHEAD_REQUESTS", "2000"))
    cache = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / ".data"))
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    costs = {"one process": _micro_in(False), "multiprocess (--workers N)": _micro_in(True)}
    micro_rows = [
        (mode, f"{c['request']:.1f} µs", f"{c['ingestion_batch']:.1f} µs", f"{c['access_line']:.1f} µs")
        for mode, c in costs.items()
    ]
    table = Table("recording cost per call", "a request (counter + histogram)", "an ingestion batch", "access line")
    for row in micro_rows:
        table.add_row(*row)
    console.print(table)
    report.append(
        "Metrics and access-log overhead",
        [
            "Command: `make bench` (`python -m bench overhead` alone). Recording cost in isolation "
            "(min of 5 x 20,000 calls, fresh process per mode):",
            f"Machine: {metering._machine()}",
        ],
        ("mode", "a request (counter + histogram)", "an ingestion batch (+ histogram, counter)", "access line"),
        micro_rows,
    )
    if os.environ.get("BENCH_OVERHEAD_AB", "1") == "0":
        return
    saved = {k: os.environ.get(k) for k in ("METERLINE_METRICS", "METERLINE_ACCESS_LOG")}
    path, info = consumption.dataset(10_000, cache)
    ingest: dict[str, list[float]] = {v: [] for v in VARIANTS}
    reads: dict[str, list[float]] = {v: [] for v in VARIANTS}
    # p50 / the same server's authenticated-constant floor p50, measured alongside: load on
    # a shared machine moves both, so the ratio separates a few percent better than p50.
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        for r in range(rounds):
            for name, env in VARIANTS.items():
                _with_env(env)
                with tempfile.TemporaryDirectory() as work:
                    rate, _ = metering.http_ingest(1, batches, Path(work), workers=1)
                ingest[name].append(rate)
                measured = consumption.measure(path, info, requests, requests // 10)
                reads[name].append(measured["p50"])
                ratios[name].append(measured["p50"] / measured["floor_p50"])
                console.print(f"round {r + 1} {name}: {rate:,.0f} events/s, consumption p50 {reads[name][-1]:.3f} ms")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    base = next(iter(VARIANTS))
    rows = []
    for name in VARIANTS:
        rate, p50 = statistics.median(ingest[name]), statistics.median(reads[name])
        ratio = statistics.median(ratios[name])
        if name == base:
            rows.append((name, f"{rate:,.0f} events/s", f"{p50:.3f} ms ({ratio:.3f}x the floor)", "", ""))
            continue
        ratio_cost = (ratio - statistics.median(ratios[base])) / statistics.median(ratios[base]) * 100
        rate_cost = (statistics.median(ingest[base]) - rate) / statistics.median(ingest[base]) * 100
        read_cost = (p50 - statistics.median(reads[base])) / statistics.median(reads[base]) * 100
        target = "< 3 % each" if name.startswith("B") else ""
        read = f"{p50:.3f} ms ({read_cost:+.1f} %; {ratio:.3f}x the floor, {ratio_cost:+.1f} %)"
        rows.append((name, f"{rate:,.0f} events/s ({rate_cost:+.1f} %)", read, target, ""))
    table = Table("variant", "ingestion (median)", "consumption p50 (median)", "target")
    for row in rows:
        table.add_row(*row[:4])
    console.print(table)
    report.append(
        None,
        [
            "A/B/C over HTTP, interleaved, "
            f"{rounds} rounds; ingestion: {batches} 1000-event batches per run over HTTP, "
            f"{metering.CONNECTIONS} connections, 1 server process; consumption: {requests} requests per endpoint "
            f"and run, 10,000-event dataset; ran {time.perf_counter() - began:,.0f} s",
        ],
        ("variant", "ingestion (median)", "consumption p50 (median)", "target"),
        [row[:4] for row in rows],
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["micro"]:
        print(json.dumps(micro()))
    else:
        main()
