"""Webhook pages: subscriptions, the delivery log, Redeliver and Test send to a REAL
receiver through the real worker, on both backends."""

from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.db.engine import Database
from meterline.kit.times import now_us
from tests.conftest import Account, make_account
from tests.support import LiveServer
from tests.ui.conftest import Dashboard
from tests.ui.explore_support import csrf_of, drive, signed_in
from tests.webhooks.support import receiver

DAY_US = 86_400 * 1_000_000


def _subscribe(api: TestClient, url: str) -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": "Overage", "threshold": 0.8})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def _log(api: TestClient, wid: str) -> list[dict[str, object]]:
    return api.get(f"/webhooks/{wid}/deliveries", params={"limit": 100}).json()["deliveries"]  # type: ignore[no-any-return]


def test_a_failed_delivery_is_redelivered_to_a_real_receiver(
    dashboard: Dashboard, api: TestClient, db: Database
) -> None:
    page = dashboard.page
    with receiver([500]) as hook:  # the receiver fails first, then accepts
        wid = _subscribe(api, hook.url)
        assert drive(db, now=now_us() + DAY_US + 1) == 1  # its one attempt, a day later: failed for good
        [failed] = _log(api, wid)
        assert failed["status"] == "failed"

        dashboard.goto("/ui/webhooks")
        row = page.locator(f"tr[data-webhook-id='{wid}']")
        expect(row).to_contain_text(hook.url)
        expect(row.locator("td.num")).to_have_text("0.8")
        dashboard.shot("webhooks")
        row.get_by_role("link", name="Delivery log").click()
        page.wait_for_url(f"{dashboard.base}/ui/webhooks/{wid}")
        old = page.locator(f"tr[data-delivery-id='{failed['id']}']")
        expect(old).to_have_attribute("data-status", "failed")
        expect(old.locator("td.answer")).to_have_text("HTTP 500")
        dashboard.shot("webhook-log-failed")

        old.get_by_role("button", name="Redeliver").click()
        page.wait_for_url(f"{dashboard.base}/ui/webhooks/{wid}?queued=*")
        [kept, new] = _log(api, wid)
        assert kept == failed and new["status"] == "pending" and new["notificationId"] == failed["notificationId"]
        expect(page.get_by_role("status")).to_contain_text(str(new["id"]))
        expect(page.locator(f"tr[data-delivery-id='{new['id']}']")).to_have_attribute("data-status", "pending")

        assert drive(db) == 1  # the worker sends it; the request only queued it
        got = hook.wait_for(2)
        assert got[1].body == got[0].body
        page.reload()
        fresh = page.locator(f"tr[data-delivery-id='{new['id']}']")
        expect(fresh).to_have_attribute("data-status", "delivered")
        expect(fresh.locator("td.answer")).to_have_text("HTTP 200")
        expect(page.locator(f"tr[data-delivery-id='{failed['id']}']")).to_have_attribute("data-status", "failed")
        dashboard.shot("webhook-log-redelivered")

        page.get_by_role("button", name="Test send").click()
        page.wait_for_url(f"{dashboard.base}/ui/webhooks/{wid}?queued=*")
        assert drive(db) == 1
        test = hook.wait_for(3)[2].json
        assert test["type"] == "PingTest" and test["data"]["test"] is True
    page.reload()
    api_log = _log(api, wid)
    shown = page.locator("tr[data-delivery-id]")
    expect(shown).to_have_count(len(api_log))
    for d in api_log:
        expect(page.locator(f"tr[data-delivery-id='{d['id']}']")).to_have_attribute("data-status", str(d["status"]))


def test_the_buttons_need_the_forms_csrf_value(live_server: LiveServer, account: Account, api: TestClient) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    [ping] = _log(api, wid)
    with signed_in(live_server, account) as client:
        assert client.post(f"/ui/webhooks/{wid}/test", data={}).status_code == 403
        assert client.post(f"/ui/webhooks/{wid}/deliveries/{ping['id']}/redeliver", data={}).status_code == 403
        csrf = csrf_of(client)
        resp = client.post(f"/ui/webhooks/{wid}/test", data={"csrf": csrf})
        assert resp.status_code == 303 and resp.headers["location"].startswith(f"/ui/webhooks/{wid}?queued=")
        # a pending delivery cannot be redelivered: the API's 400, as a page
        resp = client.post(f"/ui/webhooks/{wid}/deliveries/{ping['id']}/redeliver", data={"csrf": csrf})
        assert resp.status_code == 400 and "still pending" in resp.text
    assert len(_log(api, wid)) == 2


def test_the_log_filters_by_status_in_the_url(
    live_server: LiveServer, account: Account, api: TestClient, db: Database
) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    assert drive(db, now=now_us() + DAY_US + 1) == 1
    assert api.post(f"/webhooks/{wid}/test").status_code == 200
    api_failed = api.get(f"/webhooks/{wid}/deliveries", params={"status": "failed"}).json()
    assert api_failed["total"] == 1 and api_failed["deliveries"][0]["status"] == "failed"
    with signed_in(live_server, account) as client:
        failed = client.get(f"/ui/webhooks/{wid}", params={"status": "failed"}).text
        pending = client.get(f"/ui/webhooks/{wid}", params={"status": "pending"}).text
        assert failed.count('data-status="failed"') == 1 and 'data-status="pending"' not in failed
        assert pending.count('data-status="pending"') == 1 and 'data-status="failed"' not in pending
        assert client.get(f"/ui/webhooks/{wid}", params={"status": "bogus"}).status_code == 400
        assert client.get(f"/ui/webhooks/{wid}", params={"cursor": "bad"}).status_code == 400
        assert client.get("/ui/webhooks", params={"eventType": "Bogus"}).status_code == 400
        assert client.get("/ui/webhooks/" + "0" * 24).status_code == 404
        deleted = api.delete(f"/webhooks/{wid}")
        assert deleted.status_code == 200
        resp = client.post(f"/ui/webhooks/{wid}/test", data={"csrf": csrf_of(client)})
        assert resp.status_code == 400 and "is deleted" in resp.text


def test_an_empty_account_says_how_to_subscribe(live_server: LiveServer, account: Account) -> None:
    with signed_in(live_server, account) as client:
        assert "POST /webhook" in client.get("/ui/webhooks").text


def test_another_accounts_pages_are_404_and_its_lists_empty(
    live_server: LiveServer, api: TestClient, db: Database
) -> None:
    wid = _subscribe(api, "http://127.0.0.1:9/hook")
    [ping] = _log(api, wid)
    meter = api.post("/meters", json={"name": "M", "eventName": "e", "aggregationMethod": {"operator": "Count"}})
    event = {"name": "e", "timestamp": "2026-10-01T00:00:00Z", "customerAlias": "acme", "ref": "mine"}
    assert api.post("/events", json={"events": [event]}).status_code == 200
    other = make_account(db, "globex")
    with signed_in(live_server, other) as client:
        csrf = csrf_of(client)
        for path in [f"/ui/webhooks/{wid}", f"/ui/meters/{meter.json()['meter']['id']}"]:
            assert client.get(path).status_code == 404, path
        assert client.get("/ui/events/by-ref", params={"ref": "mine"}).status_code == 404
        assert client.post(f"/ui/webhooks/{wid}/test", data={"csrf": csrf}).status_code == 404
        resp = client.post(f"/ui/webhooks/{wid}/deliveries/{ping['id']}/redeliver", data={"csrf": csrf})
        assert resp.status_code == 404
        assert "data-webhook-id" not in client.get("/ui/webhooks").text
        assert "data-event-id" not in client.get("/ui/events").text
        assert "data-meter-id" not in client.get("/ui/meters").text
    assert len(_log(api, wid)) == 1
