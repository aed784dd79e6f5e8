"""Two concurrent requests carrying the same ref: stored and counted once (real HTTP)."""

import threading
from typing import Any

import httpx

from meterline.db.engine import Database
from tests.conftest import Account
from tests.metering.test_events_endpoints import usage_of
from tests.support import LiveServer


def _token(url: str, key: str) -> str:
    return str(httpx.post(f"{url}/login", json={"refreshToken": key}).json()["accessToken"])


def test_same_ref_in_concurrent_requests_counts_once(live_server: LiveServer, account: Account, db: Database) -> None:
    url = live_server.url
    headers = {"Authorization": f"Bearer {_token(url, account.api_key)}"}
    meter = httpx.post(
        f"{url}/meters",
        headers=headers,
        json={"name": "calls", "eventName": "call", "aggregationMethod": {"operator": "Sum", "field": "v"}},
    ).json()["meter"]
    for round_ in range(5):
        batch = [
            {
                "name": "call",
                "timestamp": "2026-01-10T00:00:00Z",
                "customerAlias": "acme",
                "ref": f"r{round_}-{i}",
                "data": {"v": 1},
            }
            for i in range(50)
        ]
        results: list[dict[str, Any]] = []
        barrier = threading.Barrier(4)

        def post(
            batch: list[dict[str, Any]] = batch,
            barrier: threading.Barrier = barrier,
            results: list[dict[str, Any]] = results,
        ) -> None:
            barrier.wait()
            resp = httpx.post(f"{url}/events", headers=headers, json={"events": batch}, timeout=30)
            assert resp.status_code == 200, resp.text
            results.append(resp.json())

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        valid = [e["ref"] for r in results for e in r["validEvents"]]
        dupes = [e["error"] for r in results for e in r["invalidEvents"]]
        assert sorted(valid) == sorted(e["ref"] for e in batch)
        assert len(dupes) == 150 and set(dupes) == {"Event ref already exists."}

    from fastapi.testclient import TestClient

    with TestClient(live_server.server.config.app) as c:
        c.headers.update(headers)
        assert usage_of(c, meter["id"]) == 250
