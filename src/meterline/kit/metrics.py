"""Prometheus metrics (prometheus-client), right with several server processes.

Counters and histograms are recorded here by whoever does the work (the request middleware,
event ingestion, the rate limiter, the background jobs); `GET /metrics` (meterline.ops)
renders them. With PROMETHEUS_MULTIPROC_DIR set (`meterline serve --workers N>1` sets it
to a fresh directory), each process writes its values to files there and a scrape, served
by any process, sums them (prometheus-client's multiprocess mode). Gauges read from the
database (the webhook outbox) are computed at scrape time, never stored.

METERLINE_METRICS=0 turns recording off (`enabled = False`) and /metrics answers 404.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: half the scrape, nothing a dashboard reads

# Recording switch, set once by create_app from Settings.metrics.
enabled = True

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "meterline_http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"],
    registry=None,
)
REQUEST_SECONDS = Histogram(
    "meterline_http_request_duration_seconds", "HTTP request latency (s), by route template", ["method", "route"],
    buckets=_LATENCY_BUCKETS, registry=None,
)
EVENTS = Counter(
    "meterline_events", "Events sent to POST /events, by outcome (accepted, invalid, duplicate)", ["outcome"],
    registry=None,
)
INGEST_SECONDS = Histogram(
    "meterline_ingestion_batch_duration_seconds", "Time to store one POST /events batch (s)",
    buckets=_LATENCY_BUCKETS, registry=None,
)
RATE_LIMITED = Counter("meterline_rate_limited_requests", "Requests refused with 429", registry=None)
JOB_RUNS = Counter("meterline_job_runs", "Background job rounds, by job and result (ok, error)", ["job", "result"],
                   registry=None)
JOB_SECONDS = Histogram(
    "meterline_job_duration_seconds", "Background job round duration (s), by job", ["job"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0), registry=None,
)
CONSUMPTION_READS = Counter(
    "meterline_consumption_reads",
    "Products-consumptions reads of one customer, by how they were answered (cached: served again after "
    "its fingerprint held; stale: a cached answer's fingerprint had changed, computed again; computed: none kept)",
    ["outcome"], registry=None,
)
RECORDED: tuple[Collector, ...] = (REQUESTS, REQUEST_SECONDS, EVENTS, INGEST_SECONDS, RATE_LIMITED, JOB_RUNS,
                                   JOB_SECONDS, CONSUMPTION_READS)

UNMATCHED = "<unmatched>"  # the route label of requests no route matched (no raw paths: bounded labels)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry(*extra: Collector) -> CollectorRegistry:
    """A registry for one scrape: this process's metrics, or every process's in multiprocess
    mode, plus `extra` collectors (computed at scrape)."""
    reg = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
    else:
        for collector in RECORDED:
            reg.register(collector)
    for collector in extra:
        reg.register(collector)
    return reg


def mark_process_dead(pid: int | None = None) -> None:
    """Multiprocess mode: drop a stopped process's live gauges (its counters stay summed)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


# (method, route, status) -> the two children a request records into; a label lookup costs
# more than the increment. Bounded: routes are templates.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    if enabled:
        key = (method, route, status)
        pair = _children.get(key)
        if pair is None:
            pair = _children[key] = (REQUESTS.labels(method, route, str(status)), REQUEST_SECONDS.labels(method, route))
        pair[0].inc()
        pair[1].observe(seconds)


def events_counted(accepted: int, invalid: int, duplicate: int) -> None:
    if enabled:
        if accepted:
            EVENTS.labels("accepted").inc(accepted)
        if invalid:
            EVENTS.labels("invalid").inc(invalid)
        if duplicate:
            EVENTS.labels("duplicate").inc(duplicate)


_READS: dict[str, Any] = {}  # children made at first use (after the multiprocess directory is set)


def consumption_read(outcome: str) -> None:
    """One products-consumptions read: "cached", "stale" or "computed" (consumption/cache.py)."""
    if enabled:
        child = _READS.get(outcome)
        if child is None:
            child = _READS[outcome] = CONSUMPTION_READS.labels(outcome)
        child.inc()


def rate_limited() -> None:
    if enabled:
        RATE_LIMITED.inc()


@contextmanager
def job_round(job: str) -> Iterator[None]:
    """Count one round of a background job (threshold_scan, invoices, webhooks) and time it."""
    start = time.perf_counter()
    result = "error"
    try:
        yield
        result = "ok"
    finally:
        if enabled:
            JOB_RUNS.labels(job, result).inc()
            JOB_SECONDS.labels(job).observe(time.perf_counter() - start)
