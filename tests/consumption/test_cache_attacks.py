"""Attacks on the products-consumptions read cache (consumption/cache.py), written by a
review that tried to make it serve a stale answer: after each sequence of writes, the
answer served equals a freshly computed one (cache cleared), on both backends."""

import time
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from meterline.consumption import cache
from meterline.db.engine import Database
from tests.consumption.factories import iso, sleep_past, two_meter_customer
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, fold_backlog, post_json, run_rebuilds, send

AT = "2026-03-15T12:30:00Z"


def _get(api: TestClient, url: str, at: str | None) -> Any:
    resp = api.get(url, params={} if at is None else {"at": at})
    return resp.status_code, resp.json().get("productsConsumptions")


def _exact(api: TestClient, url: str, at: str | None = AT) -> Any:
    """The read as served (cache or not) equals the read computed with the cache empty."""
    got = _get(api, url, at)
    cache.clear()
    fresh = _get(api, url, at)
    assert got == fresh, f"cached {got} != fresh {fresh}"
    return fresh


def _prime(api: TestClient, url: str, at: str | None = AT) -> None:
    for _ in range(3):
        assert _get(api, url, at)[0] == 200


def test_meter_change_and_rebuild(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    send(api, [event(f"t{i}", ts=f"2026-03-0{i + 1}T10:00:00Z", name="tokens", value=i + 1) for i in range(3)])
    url = f"/customers/products-consumptions/{s['cid']}"
    fold_backlog(db)
    _prime(api, url)
    body = {"name": "Tokens", "eventName": "tokens", "aggregationMethod": {"operator": "Count"}}
    assert other.put(f"/meters/{s['tokens']}", json=body).status_code == 200
    _exact(api, url)
    _prime(api, url)
    send(other, [event("t9", ts="2026-03-09T10:00:00Z", name="tokens", value=7)])
    _exact(api, url)
    _prime(api, url)
    run_rebuilds(db, steps=1)  # begun: backlog folded, build id set
    _exact(api, url)
    _prime(api, url)
    send(other, [event("t10", ts="2026-03-10T10:00:00Z", name="tokens", value=7)])
    fold_backlog(db)
    _exact(api, url)
    _prime(api, url)
    run_rebuilds(db)
    _exact(api, url)
    _prime(api, url)
    # non-shape change (name only)
    assert other.put(f"/meters/{s['tokens']}", json={**body, "name": "T2"}).status_code == 200
    _exact(api, url)
    _prime(api, url)
    assert other.delete(f"/meters/{s['tokens']}").status_code == 200
    _exact(api, url)


def test_product_meter_swap(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    send(api, [event("t1", ts="2026-03-02T10:00:00Z", name="tokens", value=4)])
    send(api, [event("u1", ts="2026-03-02T10:00:00Z", name="users", user="a")])
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url)
    assert other.put(f"/catalogProducts/{s['tp']}", json={"name": "Tokens", "meterId": s["users"]}).status_code == 200
    assert _exact(api, url)[1][0]["consumedAmount"] == 1


def test_contract_terminate_and_delete(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    send(api, [event("t1", ts="2026-03-02T10:00:00Z", name="tokens", value=4)])
    send(api, [event("t2", ts="2026-03-12T10:00:00Z", name="tokens", value=5)])
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url)
    r = other.post(f"/contracts/{s['contract']}/terminate", json={"terminationDate": "2026-03-10T00:00:00Z"})
    assert r.status_code == 200, r.text
    _exact(api, url)
    _exact(api, url, "2026-03-09T00:00:00Z")
    _prime(api, url, "2026-03-09T00:00:00Z")
    assert other.delete(f"/contracts/{s['contract']}").status_code == 200
    assert _exact(api, url, "2026-03-09T00:00:00Z")[1] == []


def test_alias_moves_between_customers(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    send(api, [event("t1", ts="2026-03-02T10:00:00Z", name="tokens", value=4)])
    url = "/customers/products-consumptions/alias/acme"
    _prime(api, url)
    # the alias freed, then given to another customer with another contract
    assert other.put(f"/customers/{s['cid']}", json={"aliases": []}).status_code == 200
    _exact(api, url)
    y = f.customer(other, name="Y", aliases=["other"])
    f.contract(other, y, startDate="2026-02-01T00:00:00Z", products=[f.usage_line(s["tp"], units=3)])
    send(api, [event("o1", ts="2026-03-02T10:00:00Z", alias="other", name="tokens", value=1)])
    assert other.put(f"/customers/{y}", json={"aliases": ["other", "acme"]}).status_code == 200
    _exact(api, url)
    _prime(api, url)
    # deleted customer frees the alias; a new one takes it
    assert other.delete(f"/customers/{y}").status_code == 200
    _exact(api, url)
    z = f.customer(other, name="Z", aliases=["acme"])
    f.contract(other, z, startDate="2026-02-01T00:00:00Z", products=[f.usage_line(s["up"], units=3)])
    _exact(api, url)


def test_alias_added_with_earlier_events(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    send(api, [event("b1", ts="2026-03-02T10:00:00Z", alias="beta", name="tokens", value=4)])
    fold_backlog(db)
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url)
    assert other.put(f"/customers/{s['cid']}", json={"aliases": ["acme", "beta"]}).status_code == 200
    assert _exact(api, url)[1][0]["consumedAmount"] == 4


def test_top_up_credit_changes(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api, strategy="TOP_UP")
    send(api, [event("t1", ts="2026-03-02T10:00:00Z", name="tokens", value=40)])
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url)
    assert other.post("/credits/grant", json={"customerId": s["cid"], "creditAmount": 5}).status_code == 200
    assert _exact(api, url)[1][0]["hasAccess"] is True
    _prime(api, url)
    assert other.post("/credits/deduct", json={"customerId": s["cid"], "creditAmount": 5}).status_code == 200
    assert _exact(api, url)[1][0]["hasAccess"] is False


def _measure(api: TestClient, cid: str, meter: str, day: int, value: Any, month: int = 3) -> str:
    r = post_json(
        api,
        "/measurements",
        {"customerId": cid, "meterId": meter, "usageDate": {"year": 2026, "month": month, "day": day}, "value": value},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["measurement"]["id"])


def test_measurements_since_earlier_windows(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    url = f"/customers/products-consumptions/{s['cid']}"
    feb = "2026-02-20T00:00:00Z"
    _prime(api, url)  # March: measurements fingerprinted from Mar 1 on
    _prime(api, url, feb)  # February's window starts before
    mid = _measure(other, s["cid"], s["tokens"], 10, 3, month=2)
    _exact(api, url, feb)
    _prime(api, url, feb)
    _measure(other, s["cid"], s["tokens"], 10, 5, month=2)  # replaced
    _exact(api, url, feb)
    _prime(api, url, feb)
    assert other.delete(f"/measurements/{mid}").status_code == 200
    _exact(api, url, feb)
    # back to March, then a February read, then March again with a March measurement
    _prime(api, url)
    _get(api, url, feb)
    _measure(other, s["cid"], s["tokens"], 3, 2)
    _exact(api, url)


def test_fold_and_delete_of_backlog_events(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api)
    url = f"/customers/products-consumptions/{s['cid']}"
    send(api, [event("t1", ts="2026-03-02T10:00:00Z", name="tokens", value=4)])
    _prime(api, url)
    # one deleted from the backlog, one stored: the backlog's count ends where it was
    assert other.post("/events/delete-by-refs", json={"refs": ["t1"]}).status_code == 200
    send(other, [event("t2", ts="2026-03-02T10:30:00Z", name="tokens", value=6)])
    _exact(api, url)
    _prime(api, url)
    fold_backlog(db)
    send(other, [event("t3", ts="2026-03-15T12:10:00Z", name="tokens", value=1)])  # edge hour of AT
    _exact(api, url)
    _prime(api, url)
    send(other, [event("t4", ts="2026-03-15T12:40:00Z", name="tokens", value=1)])  # after AT, same hour
    _exact(api, url)
    _prime(api, url)
    fold_backlog(db)
    _exact(api, url)
    # exactly at the instant asked: not counted
    send(other, [event("t5", ts=AT, name="tokens", value=100)])
    _exact(api, url)


def test_now_reads_termination_soon(api: TestClient, other: TestClient, db: Database) -> None:
    t0 = time.time()
    s = two_meter_customer(api, start=iso(t0 - 86_400))
    send(api, [event("a", ts=iso(t0 - 2), name="tokens", value=1)])
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url, None)
    soon = t0 + 1.5
    r = other.post(f"/contracts/{s['contract']}/terminate", json={"terminationDate": iso(soon)})
    assert r.status_code == 200, r.text
    _prime(api, url, None)
    sleep_past(soon)
    assert _exact(api, url, None)[1] == []


def test_now_reads_day_windows_and_line_end(api: TestClient, other: TestClient, db: Database) -> None:
    t0 = time.time()
    end = t0 + 1.5
    cid = f.customer(api, aliases=["acme"])
    tokens = create_meter(api, operator="Sum", event_name="tokens")
    tp = f.product(api, name="Tokens", meter_id=tokens["id"])
    day = {
        "commitment": {
            "units": 10,
            "price": 10,
            "overageStrategy": "BLOCK",
            "scheduling": {"duration": {"unit": "DAY", "value": 1}},
        }
    }
    line = f.usage_line(tp, units=10)
    line.update(day)
    lend = f.usage_line(tp, units=7)
    lend["scheduling"] = {"billingDay": 1, "duration": {"unit": "DAY", "value": 3}}
    f.contract(api, cid, startDate=iso(end - 86_400), products=[line])
    f.contract(api, cid, startDate=iso(end - 3 * 86_400 - 0.5), products=[lend])
    send(api, [event("a", ts=iso(t0 - 2), name="tokens", value=1)])
    fold_backlog(db)
    url = f"/customers/products-consumptions/{cid}"
    _prime(api, url, None)
    sleep_past(end)
    _exact(api, url, None)


def test_now_reads_event_sent_later_dated_soon(api: TestClient, other: TestClient, db: Database) -> None:
    t0 = time.time()
    s = two_meter_customer(api, start=iso(t0 - 86_400))
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url, None)
    soon = t0 + 1.0
    send(other, [event("f", ts=iso(soon), name="tokens", value=2)])
    _prime(api, url, None)
    fold_backlog(db)
    _prime(api, url, None)
    sleep_past(soon)
    assert _exact(api, url, None)[1][0]["consumedAmount"] == 2


def test_now_reads_measurement_today(api: TestClient, other: TestClient, db: Database) -> None:
    t0 = time.time()
    s = two_meter_customer(api, start=iso(t0 - 40 * 86_400))
    url = f"/customers/products-consumptions/{s['cid']}"
    _prime(api, url, None)
    today = datetime.fromtimestamp(t0, UTC)
    r = post_json(
        other,
        "/measurements",
        {
            "customerId": s["cid"],
            "meterId": s["tokens"],
            "usageDate": {"year": today.year, "month": today.month, "day": today.day},
            "value": 3,
        },
    )
    assert r.status_code == 200, r.text
    _exact(api, url, None)


class _Interleaved(dict):  # type: ignore[type-arg]
    """cache._SINCE as seen by a fill when another thread's fill of the same key writes it
    right after this one (between cache._read's `_SINCE[key] = ...` and its `since <=
    _SINCE[key]`): a GIL switch there, the other fill running on a worker thread too."""

    def __init__(self, other_value: int) -> None:
        super().__init__()
        self.other_value = other_value
        self.armed = False

    def __setitem__(self, key: Any, value: int) -> None:
        super().__setitem__(key, value)
        if self.armed and value != self.other_value:
            self.armed = False
            super().__setitem__(key, self.other_value)  # the concurrent March fill's write


def test_since_race_between_two_fills(api: TestClient, other: TestClient, db: Database, monkeypatch: Any) -> None:
    """Simulated interleaving (see _Interleaved): a February read computed while another
    thread fills a March read of the same customer. NOT a natural sequence of HTTP calls:
    the February answer must not be kept fingerprinted for measurements from March only."""
    s = two_meter_customer(api)
    url = f"/customers/products-consumptions/{s['cid']}"
    feb = "2026-02-20T00:00:00Z"
    mar1 = 1772323200 * 1_000_000  # 2026-03-01T00:00:00Z
    since = _Interleaved(mar1)
    monkeypatch.setattr(cache, "_SINCE", since)
    _prime(api, url)  # March: _SINCE = Mar 1
    since.armed = True
    _get(api, url, feb)  # February, since = Mar 1 > Feb 1: must not be kept
    _measure(other, s["cid"], s["tokens"], 10, 3, month=2)
    _exact(api, url, feb)
