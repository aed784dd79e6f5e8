"""GET /ingestion-counts: what POST /events answered, per UTC day of receipt, exact."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import login, make_account
from tests.support import LiveServer


def _ev(ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": "call", "timestamp": "2025-03-01T10:00:00Z", "customerAlias": "acme", "ref": ref, **extra}


def _today() -> dict[str, str]:
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"startTime": day.isoformat(), "endTime": (day + timedelta(days=1)).isoformat()}


def test_counts_add_up_what_ingestion_answered(api: TestClient) -> None:
    first = api.post("/events", json={"events": [_ev("a"), _ev("b"), _ev("a"), {"name": "call"}]}).json()
    second = api.post("/v2/events", json={"events": [_ev("b"), _ev("c")]}).json()
    assert (len(first["validEvents"]), len(first["invalidEvents"])) == (2, 2)
    assert (len(second["validEvents"]), len(second["invalidEvents"])) == (1, 1)
    api.delete("/events/c")  # ingestion figures: a later delete does not undo them
    resp = api.get("/ingestion-counts", params=_today())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["accepted"], body["invalid"], body["duplicate"]) == (3, 1, 2)
    [day] = body["days"]
    assert datetime.fromisoformat(day.pop("day")) == datetime.fromisoformat(_today()["startTime"])
    assert day == {"accepted": 3, "invalid": 1, "duplicate": 2}


def test_a_window_without_batches_counts_nothing_and_days_start_inside_it(api: TestClient) -> None:
    api.post("/events", json={"events": [_ev("a")]})
    today = _today()
    later = {"startTime": today["startTime"][:10] + "T00:00:01Z", "endTime": "2100-01-01T00:00:00Z"}
    assert api.get("/ingestion-counts", params=later).status_code == 400  # > 400 days
    tomorrow_on = {"startTime": later["startTime"], "endTime": today["endTime"]}
    body = api.get("/ingestion-counts", params=tomorrow_on).json()
    assert body == {"accepted": 0, "invalid": 0, "duplicate": 0, "days": []}


def test_bad_windows_are_400_naming_the_parameter(api: TestClient) -> None:
    for params, param in [
        ({"startTime": "2025-01-02T00:00:00Z", "endTime": "2025-01-01T00:00:00Z"}, "endTime"),
        ({"startTime": "yesterday", "endTime": "2025-01-01T00:00:00Z"}, "startTime"),
        ({"startTime": "2020-01-01T00:00:00Z", "endTime": "2021-06-01T00:00:00Z"}, "endTime"),
    ]:
        resp = api.get("/ingestion-counts", params=params)
        assert resp.status_code == 400, resp.text
        assert resp.json()["param"] == param
    assert api.get("/ingestion-counts", params={"startTime": "2020-01-01T00:00:00Z"}).status_code == 400


def test_another_accounts_batches_are_not_counted(api: TestClient, app: FastAPI) -> None:
    api.post("/events", json={"events": [_ev("a")]})
    other = make_account(app.state.db, "other")
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {login(c, other.api_key)}"
        assert c.get("/ingestion-counts", params=_today()).json()["accepted"] == 0


def test_parallel_batches_of_one_account_are_all_counted(api: TestClient, live_server: LiveServer) -> None:
    token = api.headers["Authorization"]
    errors: list[str] = []

    def send(worker: int) -> None:
        with httpx.Client(base_url=live_server.url, headers={"Authorization": token}, timeout=60) as c:
            for b in range(5):
                batch = [_ev(f"w{worker}-{b}-{i}") for i in range(50)] + [_ev(f"w{worker}-{b}-0")]
                resp = c.post("/events", json={"events": batch})
                if resp.status_code != 200:
                    errors.append(resp.text)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    body = api.get("/ingestion-counts", params=_today()).json()
    assert (body["accepted"], body["invalid"], body["duplicate"]) == (4 * 5 * 50, 0, 4 * 5)
