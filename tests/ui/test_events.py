"""The events explorer and the dry-run form, on both backends: every figure compared with
the API's answer."""

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.kit.jsonenc import decimal_text
from tests.conftest import Account
from tests.support import LiveServer
from tests.ui.conftest import Dashboard
from tests.ui.explore_support import csrf_of, signed_in

ALIASES = ["acme", "globex", "initech", "umbrella", "hooli"]


def _event(i: int) -> dict[str, Any]:
    day, second = divmod(i, 86_400 // 60)
    return {
        "name": "api_call" if i % 3 else "login",
        "timestamp": f"2026-10-{1 + day % 28:02d}T{second // 60 % 24:02d}:{second % 60:02d}:00Z",
        "customerAlias": ALIASES[i % len(ALIASES)],
        "ref": f"ev#{i}",  # "#" in a ref: the links must encode it
        "data": {"tokens": f"{i % 7}.25"},
    }


def _ingest(api: TestClient, events: list[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    refs = {e["ref"] for e in events}
    for start in range(0, len(events), 1000):
        resp = api.post("/events", json={"events": events[start : start + 1000]})
        assert resp.status_code == 200 and not resp.json()["invalidEvents"], resp.text[:500]
        assert len(resp.json()["validEvents"]) == len(events[start : start + 1000])
    for alias in ALIASES:  # the ids the API gives them
        params: dict[str, Any] = {"startTime": "2000-01-01T00:00:00Z", "endTime": "2100-01-01T00:00:00Z"}
        params |= {"customerAlias": alias, "limit": 1000}
        while True:
            body = api.get("/events", params=params).json()
            ids |= {e["id"] for e in body["events"] if e["ref"] in refs}
            if not body["hasMore"]:
                break
            params["cursor"] = body["nextCursor"]
    return ids


def _shown_ids(dashboard: Dashboard) -> list[str]:
    return dashboard.page.locator("tr[data-event-id]").evaluate_all("rows => rows.map(r => r.dataset.eventId)")


def test_the_explorer_pages_through_2500_events_without_repeating_or_skipping_one(
    dashboard: Dashboard, api: TestClient
) -> None:
    events = [_event(i) for i in range(2500)]
    ingested = _ingest(api, events)
    assert len(ingested) == 2500
    page = dashboard.page
    dashboard.goto("/ui/events?limit=100")
    dashboard.shot("events")
    seen: list[str] = []
    late: set[str] = set()
    pages = 0
    while True:
        seen += _shown_ids(dashboard)
        pages += 1
        if pages == 5:  # events arriving while someone pages are served at the end, once
            late = _ingest(api, [_event(i) for i in range(2500, 2510)])
        nxt = page.get_by_role("link", name="Next page")
        if nxt.count() == 0:
            break
        nxt.click()
        page.wait_for_load_state()
    assert len(seen) == len(set(seen)) == 2510 and set(seen) == ingested | late
    assert pages == 26


def test_filters_live_in_the_url_and_match_the_api(dashboard: Dashboard, api: TestClient) -> None:
    events = [_event(i) for i in range(300)]
    _ingest(api, events)
    page = dashboard.page
    dashboard.goto("/ui/events")
    page.fill("#f-alias", "globex")
    page.fill("#f-name", "api_call")
    page.fill("#f-from", "2026-10-01T00:00:00Z")
    page.fill("#f-to", "2026-10-01T03:00:00Z")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/ui/events?alias=globex&name=api_call&from=*")
    dashboard.shot("events-filtered")
    params = {
        "customerAlias": "globex",
        "eventName": "api_call",
        "startTime": "2026-10-01T00:00:00Z",
        "endTime": "2026-10-01T03:00:00Z",
        "limit": 50,
    }
    answer = api.get("/events", params=params).json()
    assert 0 < answer["total"] <= 50
    assert _shown_ids(dashboard) == [e["id"] for e in answer["events"]]
    expect(page.locator(".pager")).to_contain_text(f"{answer['total']} in all")

    first = answer["events"][0]
    page.get_by_role("link", name=first["ref"], exact=True).click()
    page.wait_for_url("**/ui/events/by-ref?ref=ev%23*")
    shown = json.loads(page.locator("#event-json").inner_text(), parse_float=Decimal)
    assert shown == api.get("/events/" + quote(first["ref"], safe="")).json(parse_float=Decimal)["event"]
    dashboard.shot("event")


def test_the_dry_run_shows_each_meters_value_as_the_api_answers(dashboard: Dashboard, api: TestClient) -> None:
    meters = [
        {"name": "Tokens", "eventName": "api_call", "aggregationMethod": {"operator": "Sum", "field": "tokens"}},
        {"name": "Calls", "eventName": "api_call", "aggregationMethod": {"operator": "Count"}},
        {"name": "Logins", "eventName": "login", "aggregationMethod": {"operator": "Count"}},
    ]
    for meter in meters:
        assert api.post("/meters", json=meter).status_code == 200
    assert api.post("/customers", json={"name": "Acme", "aliases": ["acme"]}).status_code == 200
    batch = {"events": [_event(1), _event(3), _event(5) | {"data": {"tokens": "0.0000001"}}]}
    answer = api.post("/events/dry-run", json=batch).json(parse_float=Decimal)

    page = dashboard.page
    dashboard.goto("/ui/events/dry-run")
    page.fill("#events", json.dumps(batch))
    page.get_by_role("button", name="Run").click()
    expect(page.locator("section.dry-event")).to_have_count(3)
    dashboard.shot("dry-run")
    for item in answer["events"]:
        section = page.locator(f"section.dry-event[data-ref='{item['event']['ref']}']")
        rows = section.locator("tr[data-meter-id]")
        expect(rows).to_have_count(len(item["meterWithValues"]))
        for m in item["meterWithValues"]:
            cell = section.locator(f"tr[data-meter-id='{m['id']}'] td.value")
            expect(cell).to_have_text(decimal_text(Decimal(m["value"])))
    assert answer["events"][2]["meterWithValues"][0]["value"] == Decimal("0.0000001")  # no exponent on the page either


def test_bad_input_shows_a_message_not_a_500(live_server: LiveServer, account: Account) -> None:
    with signed_in(live_server, account) as client:
        csrf = csrf_of(client, "/ui/events/dry-run")
        for text, words in [
            ("{not json", "not valid JSON"),
            ('{"evts": []}', "no `events` array"),
            ("[]", "1 to 1000 events"),
            ('[{"name": "x"}]', "events[0]"),
            ('"events"', "must be an array"),
        ]:
            resp = client.post("/ui/events/dry-run", data={"csrf": csrf, "events": text})
            assert resp.status_code == 400 and words in resp.text, (text, resp.text[-800:])
            assert 'role="alert"' in resp.text
        assert client.post("/ui/events/dry-run", data={"events": "[]"}).status_code == 403
        resp = client.get("/ui/events", params={"from": "yesterday"})
        assert resp.status_code == 400 and "from must be an ISO 8601 date-time" in resp.text
        assert client.get("/ui/events", params={"cursor": "nope"}).status_code == 400
        assert client.get("/ui/events", params={"limit": "0"}).status_code == 400
        assert client.get("/ui/events/by-ref", params={"ref": "missing"}).status_code == 404
        assert "send events with" in client.get("/ui/events").text
