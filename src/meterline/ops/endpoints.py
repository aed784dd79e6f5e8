"""GET /healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus.

- /healthz: the process answers (no database, no auth, no rate limit). 200 {"status": "ok"}.
- /readyz: the database answers, its migrations are at the code's head, and Redis answers
  when METERLINE_REDIS_URL is set. 200 {"status": "ready"}, else 503 in the seed's error
  shape (`service_unavailable`) whose message gives the reason.
- /metrics: Prometheus text format (kit.metrics), summed over every server process. No auth
  unless METERLINE_METRICS_TOKEN is set (then `Authorization: Bearer <token>`); 404 when
  METERLINE_METRICS=0.
"""

import hmac
import time
from collections.abc import Iterator

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from meterline import __version__
from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.db.migrate import current_revisions, head_revisions
from meterline.kit.errors import NotFound, Unauthorized, Unavailable
from meterline.kit.ratelimit import RedisBucket
from meterline.kit.routing import JSONResp, make_router, ok
from meterline.ops import repository as repo
from meterline.usage import backlog_repository as backlog_repo

router = make_router(tags=["operations"])


def _database_problem(db: Database) -> str | None:
    try:
        with transaction(db, write=False) as conn:
            repo.ping(conn)
        current = current_revisions(db)
    except Exception as exc:  # any driver error: not ready, with its class (never its text: may hold a URL)
        return f"database unreachable ({type(exc).__name__})"
    if not current:
        return "database not migrated: run `meterline migrate`"
    if current != head_revisions():
        return f"database at revision {', '.join(sorted(current))}, code at {', '.join(sorted(head_revisions()))}"
    return None


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers", include_in_schema=False)
async def healthz() -> JSONResp:
    return ok({"status": "ok"})


@router.get("/readyz", operation_id="readyz", summary="Readiness: database and Redis", include_in_schema=False)
async def readyz(request: Request) -> JSONResp:
    db: Database = request.app.state.db
    problem = await run_in_threadpool(_database_problem, db)
    limiter = request.app.state.auth.limiter
    if problem is None and isinstance(limiter, RedisBucket):
        try:
            await limiter.ping()
        except Exception as exc:
            problem = f"redis unreachable ({type(exc).__name__})"
    if problem is not None:
        raise Unavailable(f"Not ready: {problem}.")
    return ok({"status": "ready"})


class OutboxCollector(Collector):
    """Webhook outbox and rollup backlog gauges, read from the database at scrape time, and
    build info."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("meterline_build_info", "Meterline build", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        with transaction(self.db, write=False) as conn:
            pending, oldest, failed = repo.outbox(conn)
            waiting = backlog_repo.size(conn)
        yield GaugeMetricFamily(
            "meterline_rollup_backlog_events",
            "Events stored and not yet merged into the rollups (usage/backlog.py)",
            value=waiting,
        )
        yield GaugeMetricFamily("meterline_webhook_outbox_pending", "Webhook deliveries pending", value=pending)
        age = 0.0 if oldest is None else max(0.0, time.time() - oldest / 1_000_000)
        yield GaugeMetricFamily(
            "meterline_webhook_outbox_oldest_pending_age_seconds", "Age of the oldest pending delivery (s)", value=age
        )
        yield GaugeMetricFamily(
            "meterline_webhook_outbox_failed",
            f"Failed deliveries among the latest {repo.FAILED_WINDOW:,} (given up after retries)",
            value=failed,
        )


def _scrape(db: Database) -> bytes:
    from meterline.kit import metrics

    return generate_latest(metrics.registry(OutboxCollector(db)))


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.metrics:
        raise NotFound("Metrics are off (METERLINE_METRICS=0).")
    if settings.metrics_token:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), settings.metrics_token):
            raise Unauthorized("GET /metrics needs `Authorization: Bearer <METERLINE_METRICS_TOKEN>`.")
    body = await run_in_threadpool(_scrape, request.app.state.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
