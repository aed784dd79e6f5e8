"""The outbox and the delivery worker against a real HTTP receiver, on SQLite and PostgreSQL.

The worker is driven one pass at a time with an explicit `now` (no real waiting)."""

import time
from dataclasses import replace
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import repository as repo
from meterline.webhooks import service
from meterline.webhooks.retry import US
from tests.conftest import Account
from tests.support import free_port
from tests.webhooks.support import FAST, HANG, drive, receiver, verify


def _subscribe(api: TestClient, url: str, event_type: str = "Overage", **extra: object) -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": event_type, **extra})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def _deliveries(db: Database, account: Account) -> list[dict[str, object]]:
    with transaction(db, write=False) as conn:
        return repo.delivery_rows(conn, account.account_id)


def _public_key(api: TestClient) -> str:
    return str(api.get("/webhooks/public-key").json()["publicKey"])


def test_ping_test_arrives_once_signed(api: TestClient, db: Database, account: Account) -> None:
    with receiver() as rx:
        webhook_id = _subscribe(api, rx.url, "InvoiceApproved")
        assert drive(db) == 1
        got = rx.wait_for(1)
        assert drive(db, now=now_us() + 3600 * US) == 0  # delivered: never again
        assert len(rx.received) == 1
    verify(_public_key(api), got[0])
    body = got[0].json
    assert set(body) == {"type", "id", "createdAt", "data"}
    assert body["type"] == "PingTest" and len(body["id"]) == 24 and body["createdAt"].endswith("Z")
    assert body["data"] == {"webhookId": webhook_id, "eventType": "InvoiceApproved", "callbackUrl": rx.url}
    assert got[0].path == "/hook"
    [row] = _deliveries(db, account)
    assert row["status"] == "delivered" and row["attempts"] == 1 and row["last_status"] == 200


def test_enqueue_fans_out_once_per_subscription_with_exact_numbers(
    api: TestClient, db: Database, account: Account
) -> None:
    with receiver() as a, receiver() as b:
        _subscribe(api, a.url, "Overage")
        _subscribe(api, b.url, "Overage", threshold=0.9)
        _subscribe(api, b.url, "InvoiceApproved")
        drive(db)  # the three PingTests
        a.wait_for(1), b.wait_for(2)
        data = {"customerId": "c" * 24, "productId": "p" * 24, "consumedAmount": Decimal("120.10")}
        with transaction(db) as conn:
            assert service.enqueue(conn, account_id=account.account_id, event_type="Overage", data=data) == 2
            assert service.enqueue(conn, account_id=account.account_id, event_type="UnchargedEvents", data={}) == 0
        assert drive(db) == 2
        got_a, got_b = a.wait_for(2)[1], b.wait_for(3)[2]
    key = _public_key(api)
    verify(key, got_a), verify(key, got_b)
    assert got_a.body == got_b.body  # one notification, same id, to each subscriber
    assert b'"consumedAmount":120.1' in got_a.body
    assert got_a.json["type"] == "Overage" and got_a.json["data"]["customerId"] == "c" * 24


def test_rolled_back_transaction_enqueues_nothing(api: TestClient, db: Database, account: Account) -> None:
    with receiver() as rx:
        _subscribe(api, rx.url, "InvoiceApproved")
        drive(db)
        rx.wait_for(1)
        with pytest.raises(RuntimeError), transaction(db) as conn:
            n = service.enqueue(conn, account_id=account.account_id, event_type="InvoiceApproved", data={"x": 1})
            assert n == 1
            raise RuntimeError("the caller's work failed")
        assert drive(db, now=now_us() + 60 * US) == 0
        assert len(rx.received) == 1
    assert [r["event_type"] for r in _deliveries(db, account)] == ["PingTest"]


def test_dedupe_key_enqueues_once(api: TestClient, db: Database, account: Account) -> None:
    with receiver() as rx:
        sub = _subscribe(api, rx.url, "Overage")
        drive(db)
        rx.wait_for(1)
        counts = []
        for _ in range(2):
            with transaction(db) as conn:
                for key in ("line-1:2026-03", "line-1:2026-03", "line-2:2026-03"):
                    counts.append(
                        service.enqueue(
                            conn, account_id=account.account_id, event_type="Overage", data={"k": key}, dedupe_key=key
                        )
                    )
        assert counts == [1, 0, 1, 0, 0, 0]
        # the same key under another event type, or another subscription's scope, is distinct
        with transaction(db) as conn:
            assert service.enqueue(conn, account_id=account.account_id, event_type="TierCrossed", data={}) == 0
            args = {"account_id": account.account_id, "event_type": "Overage", "data": {}, "dedupe_key": "d"}
            assert service.enqueue_to(conn, subscription_id=sub, **args) == 1
            assert service.enqueue_to(conn, subscription_id=sub, **args) == 0
            assert service.enqueue_to(conn, subscription_id="0" * 24, **args) == 0
            assert service.enqueue(conn, **args) == 1
        assert drive(db) == 4
        got = rx.wait_for(5)
    assert sorted(g.json["data"].get("k", "") for g in got[1:]) == ["", "", "line-1:2026-03", "line-2:2026-03"]


def test_subscriptions_for_gives_thresholds(api: TestClient, db: Database, account: Account) -> None:
    a = _subscribe(api, "https://a.example/x", "CommitmentUsageCrossed", threshold=0.75)
    b = _subscribe(api, "https://b.example/x", "CommitmentUsageCrossed", threshold=1)
    _subscribe(api, "https://c.example/x", "Overage")
    with transaction(db, write=False) as conn:
        subs = service.subscriptions_for(conn, account_id=account.account_id, event_type="CommitmentUsageCrossed")
        assert service.subscriptions_for(conn, account_id="f" * 24, event_type="Overage") == []
    assert [(s.id, s.threshold) for s in subs] == [(a, Decimal("0.75")), (b, Decimal("1"))]
    assert subs[0].callback_url == "https://a.example/x" and subs[0].event_type == "CommitmentUsageCrossed"
    with pytest.raises(ValueError):
        service.subscriptions_for(conn, account_id=account.account_id, event_type="Nope")


def test_a_500_is_retried_with_backoff(api: TestClient, db: Database, account: Account) -> None:
    with receiver(script=[500, 503]) as rx:
        sub = _subscribe(api, rx.url, "InvoiceApproved")
        t0 = now_us()
        assert drive(db, now=t0, rand=0.0) == 1  # 500: next try 5 s later (10 s base, jitter 0.5)
        [shown] = api.get(f"/webhooks/{sub}/deliveries").json()["deliveries"]
        assert shown["status"] == "pending" and shown["lastStatusCode"] == 500 and shown["lastError"] == "HTTP 500"
        assert shown["eventType"] == "PingTest" and shown["nextAttemptAt"].endswith("Z")
        [row] = _deliveries(db, account)
        assert row["status"] == "pending" and row["last_status"] == 500 and row["attempts"] == 1
        assert row["next_attempt_at"] == t0 + 5 * US
        assert drive(db, now=t0 + 4 * US) == 0
        assert drive(db, now=t0 + 5 * US, rand=0.0) == 1  # 503: then 10 s
        assert drive(db, now=t0 + 14 * US) == 0
        assert drive(db, now=t0 + 15 * US) == 1  # 200
        got = rx.wait_for(3)
        assert drive(db, now=t0 + 3600 * US) == 0
    assert len(got) == 3 and len({g.body for g in got}) == 1  # the same notification each time
    key = _public_key(api)
    for g in got:
        verify(key, g)
    [row] = _deliveries(db, account)
    assert row["status"] == "delivered" and row["attempts"] == 3 and row["last_status"] == 200
    page = api.get(f"/webhooks/{sub}/deliveries").json()
    assert page["total"] == 1 and page["hasMore"] is False
    [shown] = page["deliveries"]
    assert shown["status"] == "delivered" and shown["attempts"] == 3 and shown["nextAttemptAt"] is None
    assert shown["notificationId"] == got[0].json["id"] and shown["finishedAt"].endswith("Z")
    assert api.get(f"/webhooks/{'0' * 24}/deliveries").status_code == 404


def test_gives_up_24h_after_creation(api: TestClient, db: Database, account: Account) -> None:
    with receiver(script=[500] * 100) as rx:
        _subscribe(api, rx.url, "InvoiceApproved")
        [row] = _deliveries(db, account)
        created = int(row["created_at"])  # type: ignore[call-overload]
        now, attempts = created, 0
        while True:
            attempts += drive(db, now=now)
            [row] = _deliveries(db, account)
            if row["status"] != "pending":
                break
            now = int(row["next_attempt_at"])  # type: ignore[call-overload]
        assert row["status"] == "failed" and row["finished_at"] == created + 86_400 * US
        assert row["attempts"] == attempts == len(rx.wait_for(attempts)) and 30 <= attempts <= 50
        assert drive(db, now=now + 86_400 * US) == 0


def test_unreachable_receiver_is_retried(api: TestClient, db: Database, account: Account) -> None:
    _subscribe(api, f"http://127.0.0.1:{free_port()}/nobody-listens", "InvoiceApproved")
    t0 = now_us()
    assert drive(db, now=t0) == 1
    [row] = _deliveries(db, account)
    assert row["status"] == "pending" and row["last_status"] is None and row["last_error"]


def test_deleting_a_subscription_cancels_its_pending_deliveries(
    api: TestClient, db: Database, account: Account
) -> None:
    with receiver() as rx:
        sub = _subscribe(api, rx.url, "InvoiceApproved")
        assert api.delete(f"/webhooks/{sub}").status_code == 200
        with transaction(db) as conn:
            assert service.enqueue(conn, account_id=account.account_id, event_type="InvoiceApproved", data={}) == 0
        assert drive(db) == 0
        assert rx.received == []
    assert [r["status"] for r in _deliveries(db, account)] == ["cancelled"]


def test_new_customer_without_contract_fires_on_creation(api: TestClient, db: Database, account: Account) -> None:
    with receiver() as rx:
        _subscribe(api, rx.url, "NewCustomerWithoutContract")
        created = api.post("/customers", json={"name": "Acme", "externalId": "e1", "aliases": ["a"]})
        customer = created.json()["customer"]
        api.put(f"/customers/{customer['id']}", json={"name": "Acme 2"})  # an update is not a new customer
        assert drive(db) == 2
        got = rx.wait_for(2)
    assert sorted(g.json["type"] for g in got) == ["NewCustomerWithoutContract", "PingTest"]
    [event] = [g.json for g in got if g.json["type"] == "NewCustomerWithoutContract"]
    assert event["data"] == {"customerId": customer["id"], "name": "Acme", "externalId": "e1", "aliases": ["a"]}


def test_a_receiver_that_never_answers_times_out(api: TestClient, db: Database, account: Account) -> None:
    with receiver(script=[HANG]) as rx:
        _subscribe(api, rx.url, "InvoiceApproved")
        started = time.monotonic()
        assert drive(db, config=replace(FAST, timeout_seconds=0.5, lease_seconds=5)) == 1
        assert time.monotonic() - started < 3
    [row] = _deliveries(db, account)
    assert row["status"] == "pending" and row["last_status"] is None and row["last_error"] == "no answer within 0.5 s"
