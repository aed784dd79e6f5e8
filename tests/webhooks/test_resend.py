"""Redeliver and test send (API extensions) over HTTP, through the real worker and a real
receiver, on SQLite and PostgreSQL."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import repository as repo
from tests.conftest import Account, login, make_account
from tests.webhooks.support import drive, receiver, verify

DAY_US = 86_400 * 1_000_000


def _subscribe(api: TestClient, url: str, event_type: str = "Overage") -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": event_type})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def _deliveries(api: TestClient, wid: str) -> list[dict[str, object]]:
    resp = api.get(f"/webhooks/{wid}/deliveries", params={"limit": 100})
    assert resp.status_code == 200, resp.text
    return resp.json()["deliveries"]  # type: ignore[no-any-return]


def test_a_failed_delivery_is_redelivered_as_a_new_delivery_of_the_same_notification(
    api: TestClient, db: Database
) -> None:
    with receiver([500]) as hook:
        wid = _subscribe(api, hook.url)
        # the ping's one attempt a day later fails: the retry window is over, it is `failed`
        assert drive(db, now=now_us() + DAY_US + 1) == 1
        [failed] = _deliveries(api, wid)
        assert failed["status"] == "failed" and failed["lastStatusCode"] == 500

        resp = api.post(f"/webhooks/{wid}/deliveries/{failed['id']}/redeliver")
        assert resp.status_code == 200, resp.text
        new = resp.json()["delivery"]
        assert new["id"] != failed["id"] and new["notificationId"] == failed["notificationId"]
        assert (new["status"], new["attempts"], new["lastStatusCode"]) == ("pending", 0, None)
        assert new["eventType"] == "PingTest" and new["nextAttemptAt"] is not None

        assert drive(db) == 1  # the worker sends it; nothing was sent from the request
        got = hook.wait_for(2)
        assert got[1].body == got[0].body  # the same notification, byte for byte
        public = api.get("/webhooks/public-key").json()["publicKey"]
        verify(public, got[1])

    old, again = _deliveries(api, wid)
    assert old == failed  # the failed one stays in the log as it was
    assert again["id"] == new["id"] and again["status"] == "delivered" and again["lastStatusCode"] == 200


def test_a_delivered_delivery_can_be_sent_again_but_a_pending_one_cannot(api: TestClient, db: Database) -> None:
    with receiver() as hook:
        wid = _subscribe(api, hook.url)
        [pending] = _deliveries(api, wid)
        resp = api.post(f"/webhooks/{wid}/deliveries/{pending['id']}/redeliver")
        assert resp.status_code == 400 and resp.json()["code"] == "delivery_pending"
        assert resp.json()["param"] == "deliveryId"
        drive(db)
        resp = api.post(f"/webhooks/{wid}/deliveries/{pending['id']}/redeliver")
        assert resp.status_code == 200
        drive(db)
        assert len(hook.wait_for(2)) == 2
    assert [d["status"] for d in _deliveries(api, wid)] == ["delivered", "delivered"]


def test_test_send_queues_a_signed_ping_marked_as_a_test(api: TestClient, db: Database) -> None:
    with receiver() as hook:
        wid = _subscribe(api, hook.url, "InvoiceApproved")
        drive(db)  # the subscription's own ping
        resp = api.post(f"/webhooks/{wid}/test")
        assert resp.status_code == 200, resp.text
        queued = resp.json()["delivery"]
        assert queued["status"] == "pending" and queued["eventType"] == "PingTest"
        second = api.post(f"/webhooks/{wid}/test").json()["delivery"]
        assert second["notificationId"] != queued["notificationId"]  # each call is a new notification
        assert drive(db) == 2
        got = hook.wait_for(3)
        sent = next(r for r in got if r.json["id"] == queued["notificationId"])  # order across sends is free
        verify(api.get("/webhooks/public-key").json()["publicKey"], sent)
    body = sent.json
    assert body["type"] == "PingTest"
    assert body["data"] == {"webhookId": wid, "eventType": "InvoiceApproved", "callbackUrl": hook.url, "test": True}
    assert "test" not in got[0].json["data"]  # the subscription's ping is not a test send
    statuses = {d["id"]: d["status"] for d in _deliveries(api, wid)}
    assert statuses[queued["id"]] == statuses[second["id"]] == "delivered"


def test_deleted_and_unknown_webhooks_and_deliveries(api: TestClient, db: Database) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    assert drive(db, now=now_us() + DAY_US + 1) == 1
    [failed] = _deliveries(api, wid)
    assert api.delete(f"/webhooks/{wid}").status_code == 200

    resp = api.post(f"/webhooks/{wid}/deliveries/{failed['id']}/redeliver")
    assert resp.status_code == 400 and resp.json()["code"] == "webhook_deleted"
    assert "subscribe again" in resp.json()["message"]
    resp = api.post(f"/webhooks/{wid}/test")
    assert resp.status_code == 400 and resp.json()["code"] == "webhook_deleted"

    missing = "0" * 24
    assert api.post(f"/webhooks/{missing}/test").status_code == 404
    assert api.post(f"/webhooks/{missing}/deliveries/{failed['id']}/redeliver").status_code == 404
    live = _subscribe(api, "http://127.0.0.1:9/other")
    resp = api.post(f"/webhooks/{live}/deliveries/{failed['id']}/redeliver")  # not a delivery of `live`
    assert resp.status_code == 404 and resp.json()["param"] == "deliveryId"
    assert api.post(f"/webhooks/{live}/deliveries/not-an-id/redeliver").status_code == 400
    assert api.get(f"/webhooks/{live}/deliveries", params={"status": "lost"}).status_code == 400
    assert api.get(f"/webhooks/{wid}/deliveries", params={"status": "failed"}).json()["total"] == 1
    assert api.get(f"/webhooks/{wid}/deliveries", params={"status": "pending"}).json()["total"] == 0
    assert api.post("/webhooks/nope/test").status_code == 400


def test_another_accounts_webhook_and_delivery_are_404(app: FastAPI, api: TestClient, db: Database) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    assert drive(db, now=now_us() + DAY_US + 1) == 1
    [failed] = _deliveries(api, wid)
    other: Account = make_account(db, "globex")
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {login(c, other.api_key)}"
        assert c.post(f"/webhooks/{wid}/test").status_code == 404
        assert c.post(f"/webhooks/{wid}/deliveries/{failed['id']}/redeliver").status_code == 404
    with transaction(db) as conn:
        assert len(repo.delivery_rows(conn, other.account_id)) == 0
    assert len(_deliveries(api, wid)) == 1


def test_redeliver_takes_an_idempotency_key(api: TestClient, db: Database) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    assert drive(db, now=now_us() + DAY_US + 1) == 1
    [failed] = _deliveries(api, wid)
    headers = {"Idempotency-Key": "redeliver-1"}
    first = api.post(f"/webhooks/{wid}/deliveries/{failed['id']}/redeliver", headers=headers)
    again = api.post(f"/webhooks/{wid}/deliveries/{failed['id']}/redeliver", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(_deliveries(api, wid)) == 2  # one new delivery, not two
