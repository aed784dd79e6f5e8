"""Overage and CommitmentUsageCrossed from the threshold scan, delivered to a real HTTP
receiver, on SQLite and PostgreSQL. scan() runs with an explicit `at_us`."""

import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.kit import jsonenc
from meterline.kit.times import iso_us, now_us, parse_instant, to_us
from meterline.routers import background_tasks
from meterline.webhooks import repository as repo
from meterline.webhooks import thresholds
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, send
from tests.webhooks.support import FAST, Received, drive, receiver


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


FEB_20, MAR_10 = _us("2026-02-20T00:00:00Z"), _us("2026-03-10T00:00:00Z")


def _subscribe(api: TestClient, url: str, event_type: str, **extra: object) -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": event_type, **extra})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def _scan(db: Database, account: Account, at_us: int) -> int:
    with transaction(db) as conn:
        return thresholds.scan(conn, account_id=account.account_id, at_us=at_us)


def _calls(api: TestClient, alias: str, n: int, ts: str, tag: str) -> None:
    send(api, [event(f"{tag}-{i}", ts=ts, name="call", alias=alias) for i in range(n)])


def _data(got: list[Received]) -> list[dict[str, Any]]:
    """The bodies' data with exact numbers, in a stable order."""
    out = []
    for g in got:
        body = jsonenc.loads(g.body)
        assert body["type"] in ("Overage", "CommitmentUsageCrossed") and len(body["id"]) == 24
        out.append(body["data"])
    return sorted(out, key=lambda d: (d["customerId"], d["consumedAmount"]))


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda d: (d["customerId"], d["consumedAmount"]))


def _setup(api: TestClient) -> dict[str, str]:
    meter = create_meter(api, operator="Count", event_name="call")
    pid = f.product(api, name="Calls", meter_id=meter["id"])
    a = f.customer(api, "A", aliases=["a"])
    b = f.customer(api, "B", aliases=["b"])
    start = "2026-01-01T00:00:00Z"
    ca = f.contract(api, a, startDate=start, products=[f.usage_line(pid, units=10, strategy="BLOCK")])["id"]
    cb = f.contract(api, b, startDate=start, products=[f.usage_line(pid, units=10, strategy="IGNORE")])["id"]
    return {"pid": pid, "a": a, "b": b, "ca": ca, "cb": cb}


def _entry(ids: dict[str, str], consumed: int, access: bool, **extra: str) -> dict[str, Any]:
    return {
        "productId": ids["pid"],
        "productName": "Calls",
        "provisionedAmount": 10,
        "consumedAmount": consumed,
        "usagePercentage": consumed * 10,
        "hasAccess": access,
        "remainingAmount": max(10 - consumed, 0),
        "exceededAmount": max(consumed - 10, 0),
        **extra,
    }


def test_once_per_subscription_line_and_window(api: TestClient, db: Database, account: Account) -> None:
    ids = _setup(api)
    a, b, ca, cb = ids["a"], ids["b"], ids["ca"], ids["cb"]
    with receiver() as over, receiver() as half:
        _subscribe(api, over.url, "Overage")
        _subscribe(api, half.url, "CommitmentUsageCrossed", threshold=0.5)
        assert drive(db) == 2  # the PingTests
        over.wait_for(1), half.wait_for(1)
        assert _scan(db, account, FEB_20) == 0  # nothing consumed yet

        _calls(api, "a", 5, "2026-02-10T00:00:00Z", "a1")  # A reaches 5 = 0.5 x 10
        assert _scan(db, account, FEB_20) == 1
        _calls(api, "a", 5, "2026-02-11T00:00:00Z", "a2")  # A reaches 10 = 1 x 10
        _calls(api, "b", 12, "2026-02-12T00:00:00Z", "b1")  # B jumps over both
        _calls(api, "b", 3, "2026-02-20T00:00:00Z", "b-at")  # at t: not yet consumed
        assert _scan(db, account, FEB_20) == 3
        assert _scan(db, account, FEB_20) == 0  # never twice
        _calls(api, "a", 3, "2026-02-12T00:00:00Z", "a3")  # further over: no new crossing
        assert _scan(db, account, FEB_20) == 0
        assert drive(db) == 4
        got_over, got_half = over.wait_for(3), half.wait_for(3)
        assert _data(got_over[1:]) == _ordered(
            [_entry(ids, 10, False, customerId=a), _entry(ids, 12, True, customerId=b)]
        )
        assert _data(got_half[1:]) == _ordered(
            [_entry(ids, 5, True, customerId=a, contractId=ca), _entry(ids, 12, True, customerId=b, contractId=cb)]
        )

        # the next window [Mar 1, Apr 1): a new crossing, one each
        _calls(api, "a", 10, "2026-03-05T00:00:00Z", "a4")
        assert _scan(db, account, MAR_10) == 2
        assert _scan(db, account, MAR_10) == 0
        assert _scan(db, account, FEB_20) == 0  # an earlier instant: its window is done already
        assert drive(db) == 2
        march_over, march_half = over.wait_for(4)[3:], half.wait_for(4)[3:]
        assert _data(march_over) == [_entry(ids, 10, False, customerId=a)]
        assert _data(march_half) == [_entry(ids, 10, False, customerId=a, contractId=ca)]
        assert drive(db, now=now_us() + 3_600_000_000) == 0
        assert len(over.received) == 4 and len(half.received) == 4
    [half_a] = [g for g in got_half[1:3] if g.json["data"]["customerId"] == a]
    assert b'"provisionedAmount":10,"consumedAmount":5,"usagePercentage":50,' in half_a.body


def test_merged_lines_overage_per_entry_commitment_per_line(api: TestClient, db: Database, account: Account) -> None:
    """Two BLOCK lines of one product (100 from Jan 1, 50 from Feb 1): Overage judges the
    merged entry (150, February window), CommitmentUsageCrossed each line alone."""
    meter = create_meter(api, operator="Count", event_name="call")
    pid = f.product(api, name="Calls", meter_id=meter["id"])
    cid = f.customer(api, "A", aliases=["a"])
    first = f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=100)])["id"]
    second = f.contract(api, cid, startDate="2026-02-01T00:00:00Z", products=[f.usage_line(pid, units=50)])["id"]
    _subscribe(api, "https://hooks.example/over", "Overage")
    _subscribe(api, "https://hooks.example/half", "CommitmentUsageCrossed", threshold=1)

    def queued() -> list[dict[str, Any]]:
        with transaction(db, write=False) as conn:
            rows = [r for r in repo.delivery_rows(conn, account.account_id) if r["event_type"] != "PingTest"]
        return [{"type": r["event_type"], **jsonenc.loads(r["body"])["data"]} for r in rows]

    _calls(api, "a", 60, "2026-02-10T00:00:00Z", "x")  # the 50-unit line alone is crossed
    assert _scan(db, account, FEB_20) == 1
    [got] = queued()
    assert (got["type"], got["contractId"], got["provisionedAmount"], got["consumedAmount"]) == (
        "CommitmentUsageCrossed",
        second,
        50,
        60,
    )
    assert (got["exceededAmount"], got["usagePercentage"], got["hasAccess"]) == (10, 120, False)
    _calls(api, "a", 40, "2026-02-11T00:00:00Z", "y")  # 100: the 100-unit line too
    assert _scan(db, account, FEB_20) == 1
    assert (queued()[1]["contractId"], queued()[1]["provisionedAmount"]) == (first, 100)
    _calls(api, "a", 50, "2026-02-12T00:00:00Z", "z")  # 150: the merged entry (Overage)
    assert _scan(db, account, FEB_20) == 1
    over = queued()[2]
    assert over == {"type": "Overage", **_entry({"pid": pid}, 0, False, customerId=cid)} | {
        "provisionedAmount": 150,
        "consumedAmount": 150,
        "usagePercentage": 100,
        "remainingAmount": 0,
        "exceededAmount": 0,
    }
    assert _scan(db, account, FEB_20) == 0


def test_no_subscription_no_work_and_scan_all(app: FastAPI, db: Database, account: Account) -> None:
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        _setup(c2)
        _calls(c2, "a", 20, "2026-02-10T00:00:00Z", "o")
        with transaction(db, write=False) as conn:
            assert thresholds.pending(conn, account_id=other.account_id, at_us=FEB_20) == []
            assert repo.accounts_subscribed(conn, list(thresholds.EVENT_TYPES)) == []
        assert _scan(db, other, FEB_20) == 0
        assert thresholds.scan_all(db, at_us=FEB_20) == 0
        _subscribe(c2, "https://hooks.example/x", "InvoiceApproved")  # another type: still nothing
        assert thresholds.scan_all(db, at_us=FEB_20) == 0
        _subscribe(c2, "https://hooks.example/x", "Overage")
        assert thresholds.scan_all(db, at_us=FEB_20) == 1
        assert thresholds.scan_all(db, at_us=FEB_20) == 0
    with transaction(db, write=False) as conn:
        assert repo.delivery_rows(conn, account.account_id) == []


def test_in_process_job_delivers_an_overage_end_to_end(settings: Settings, db: Database, account: Account) -> None:
    """routers.BACKGROUND starts the scan with the app: events in, Overage out, no explicit scan."""
    assert thresholds.start in background_tasks()
    app = create_app(settings.model_copy(update={"background_jobs": True}), db=db)
    app.state.webhook_worker_config = FAST
    app.state.threshold_scan_config = thresholds.ScanConfig(interval_seconds=0.05)
    with receiver() as rx, TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {login(api, account.api_key)}"
        meter = create_meter(api, operator="Count", event_name="call")
        pid = f.product(api, name="Calls", meter_id=meter["id"])
        cid = f.customer(api, "A", aliases=["a"])
        start = iso_us(now_us() - 40 * 86_400_000_000)
        f.contract(api, cid, startDate=start, products=[f.usage_line(pid, units=2)])
        _subscribe(api, rx.url, "Overage")
        _calls(api, "a", 2, iso_us(now_us() - 1_000_000), "now")
        got = rx.wait_for(2, timeout=30)
        time.sleep(0.3)  # several more scans: nothing new
    assert len(rx.received) == 2
    # the PingTest and the Overage are separate deliveries: their order is not guaranteed
    assert sorted(r.json["type"] for r in got) == ["Overage", "PingTest"]
    [overage] = [r for r in got if r.json["type"] == "Overage"]
    data = overage.json["data"]
    assert (data["customerId"], data["consumedAmount"], data["provisionedAmount"], data["hasAccess"]) == (
        cid,
        2,
        2,
        False,
    )
