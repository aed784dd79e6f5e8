"""/healthz, /readyz and /metrics, on both backends (in-process app); the multi-process
and log behaviours are in tests/test_ops_server.py (real `meterline serve`)."""

import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database, create_database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import repository as webhooks_repo
from tests.conftest import Account, login
from tests.support import free_port


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text scrape, by (name, labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def test_healthz_needs_nothing(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


def test_readyz_on_a_migrated_database(client: TestClient) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.json() == {"status": "ready"}


def test_readyz_on_a_database_never_migrated_is_503(settings: Settings, database_url: str) -> None:
    db = create_database(database_url)  # no upgrade
    try:
        with TestClient(create_app(settings, db=db)) as c:
            assert c.get("/healthz").status_code == 200
            resp = c.get("/readyz")
        assert resp.status_code == 503
        body = resp.json()
        assert body["type"] == "api_error" and body["code"] == "service_unavailable"
        assert "not migrated" in body["message"] and "meterline migrate" in body["message"]
    finally:
        db.dispose()


def test_readyz_with_redis_dead_is_503_and_live_is_200(settings: Settings, db: Database) -> None:
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(dead, db=db)) as c:
        resp = c.get("/readyz")
        assert c.get("/healthz").status_code == 200
    assert resp.status_code == 503 and "redis unreachable" in resp.json()["message"]
    live = settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/15"})
    with TestClient(create_app(live, db=db)) as c:
        assert c.get("/readyz").status_code == 200


def test_metrics_count_requests_by_route_template_and_events_by_outcome(
    api: TestClient, client: TestClient, db: Database, account: Account
) -> None:
    def get() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        resp = client.get("/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        return samples(resp.text)

    before = get()
    for ref in ("nope-1", "nope-2"):
        assert api.get(f"/customers/{'a' * 24}", params={"r": ref}).status_code == 404
    events = [
        {"name": "e", "timestamp": "2026-01-01T00:00:00Z", "customerAlias": "c", "ref": "r1", "data": {}},
        {"name": "e", "timestamp": "2026-01-01T00:00:00Z", "customerAlias": "c", "ref": "r2", "data": {}},
        {"name": "e", "timestamp": "not a time", "customerAlias": "c", "ref": "r3", "data": {}},
    ]
    assert api.post("/events", json={"events": events}).status_code == 200
    assert api.post("/events", json={"events": events[:1]}).status_code == 200  # r1 again: a duplicate
    after = get()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/customers/{customerId}"
    assert delta("meterline_http_requests_total", method="GET", route=route, status="404") == 2
    assert delta("meterline_http_request_duration_seconds_count", method="GET", route=route) == 2
    assert not any(f"/customers/{'a' * 24}" in dict(k[1]).get("route", "") for k in after)  # no raw paths
    assert delta("meterline_http_requests_total", method="POST", route="/events", status="200") == 2
    assert delta("meterline_events_total", outcome="accepted") == 2
    assert delta("meterline_events_total", outcome="invalid") == 1
    assert delta("meterline_events_total", outcome="duplicate") == 1
    assert delta("meterline_ingestion_batch_duration_seconds_count") == 2
    assert value(after, "meterline_build_info", version=__import__("meterline").__version__) == 1
    assert value(after, "meterline_webhook_outbox_pending") == 0
    # PostgreSQL's 2 accepted events wait for the folder (no background job here); SQLite
    # merged them in the request.
    assert value(after, "meterline_rollup_backlog_events") == (0 if db.is_sqlite else 2)

    with transaction(db) as conn:  # one pending delivery, created an hour ago
        now = now_us()
        conn.execute(
            webhooks_repo.deliveries.insert().values(
                id="d" * 24, account_id=account.account_id, notification_id="n" * 24, subscription_id="s" * 24,
                callback_url="http://127.0.0.1:9/", status="pending", attempts=0, next_attempt_at=now,
                created_at=now - 3_600_000_000, updated_at=now,
            )
        )
        conn.execute(
            webhooks_repo.deliveries.insert().values(
                id="e" * 24, account_id=account.account_id, notification_id="n" * 24, subscription_id="s" * 24,
                callback_url="http://127.0.0.1:9/", status="failed", attempts=9, next_attempt_at=now,
                created_at=now, updated_at=now, finished_at=now,
            )
        )
    gauges = get()
    assert value(gauges, "meterline_webhook_outbox_pending") == 1
    assert value(gauges, "meterline_webhook_outbox_failed") == 1
    assert value(gauges, "meterline_webhook_outbox_oldest_pending_age_seconds") > 3600


def test_rate_limited_requests_are_counted(settings: Settings, db: Database, account: Account) -> None:
    limited = settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 2})
    with TestClient(create_app(limited, db=db)) as c:
        before = value(samples(c.get("/metrics").text), "meterline_rate_limited_requests_total")
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        codes = [c.get("/customers").status_code for _ in range(5)]
        after = value(samples(c.get("/metrics").text), "meterline_rate_limited_requests_total")
    assert after - before == codes.count(429) == 3


def test_metrics_token_and_switch(settings: Settings, db: Database) -> None:
    guarded = settings.model_copy(update={"metrics_token": "scrape-secret"})
    with TestClient(create_app(guarded, db=db)) as c:
        refused = c.get("/metrics")
        assert refused.status_code == 401 and refused.json()["type"] == "authentication_error"
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    off = settings.model_copy(update={"metrics": False})
    with TestClient(create_app(off, db=db)) as c:
        assert c.get("/metrics").status_code == 404
        assert c.get("/healthz").status_code == 200


def test_background_job_rounds_are_counted(settings: Settings, db: Database) -> None:
    busy = settings.model_copy(
        update={
            "background_jobs": True,
            "invoice_interval": 0.05,
            "threshold_scan_seconds": 0.05,
            "webhook_poll_seconds": 0.05,
        }
    )
    jobs = ("invoices", "threshold_scan", "webhook_claim")
    with TestClient(create_app(busy, db=db)) as c:
        before = samples(c.get("/metrics").text)
        deadline = time.monotonic() + 30
        while True:  # wait (bounded) until every job has run at least twice more
            now = samples(c.get("/metrics").text)
            grown = [
                value(now, "meterline_job_runs_total", job=j, result="ok")
                - value(before, "meterline_job_runs_total", job=j, result="ok")
                for j in jobs
            ]
            if min(grown) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert min(grown) >= 2, grown
    assert all(value(now, "meterline_job_duration_seconds_count", job=j) >= 2 for j in jobs)
    assert all(value(now, "meterline_job_runs_total", job=j, result="error") == 0 for j in jobs)
