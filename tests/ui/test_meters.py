"""Meters & products pages, on both backends: definitions and a meter's rebuild state as
`GET /meters/{id}` answers it."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.db.engine import Database
from meterline.kit.jsonenc import decimal_text
from meterline.meters import rebuilds
from tests.conftest import Account
from tests.metering.factories import release, run_rebuilds
from tests.support import LiveServer
from tests.ui.conftest import Dashboard
from tests.ui.explore_support import signed_in

TOKENS = {"name": "Tokens", "eventName": "api_call", "aggregationMethod": {"operator": "Sum", "field": "tokens"}}


def _events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "api_call",
            "timestamp": f"2026-10-01T00:{i:02d}:00Z",
            "customerAlias": "acme",
            "ref": f"r{i}",
            "data": {"tokens": i},
        }
        for i in range(n)
    ]


def _rebuild_shown(dashboard: Dashboard) -> dict[str, str]:
    card = dashboard.page.locator("#rebuild-state")
    fields = ("status", "eventsDone", "eventsTotal")
    return {f: card.locator(f"dd[data-field='{f}']").inner_text().strip() for f in fields}


def _rebuild_api(api: TestClient, meter_id: str) -> dict[str, str]:
    rebuild = api.get(f"/meters/{meter_id}").json(parse_float=Decimal)["meter"]["rebuild"]
    return {
        "status": rebuild["status"],
        "eventsDone": str(rebuild["eventsDone"]),
        "eventsTotal": str(rebuild["eventsTotal"]) if rebuild["eventsTotal"] is not None else "not counted yet",
    }


def test_meters_products_and_a_rebuild_in_progress(dashboard: Dashboard, api: TestClient, db: Database) -> None:
    assert api.post("/events", json={"events": _events(10)}).status_code == 200
    meter = api.post("/meters", json=TOKENS).json()["meter"]
    product = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"], "externalId": "api-1"})
    assert product.status_code == 200
    page = dashboard.page

    dashboard.goto("/ui/meters")
    row = page.locator(f"tr[data-meter-id='{meter['id']}']")
    expect(row).to_contain_text("Sum of tokens")
    expect(row).to_contain_text("rebuild pending")
    expect(page.locator("table[aria-labelledby=products]")).to_contain_text("api-1")
    dashboard.shot("meters")

    row.get_by_role("link", name="Tokens").click()
    page.wait_for_url(f"{dashboard.base}/ui/meters/{meter['id']}")
    assert _rebuild_shown(dashboard) == _rebuild_api(api, meter["id"]) | {"status": "pending"}

    config = rebuilds.RebuildConfig(chunk_events=4)
    claimed = rebuilds.claim(db, config)
    assert claimed is not None
    for _ in range(2):  # start (counts the events), then fold one chunk of 4
        rebuilds.step(db, *claimed, config)
    page.reload()
    assert (
        _rebuild_shown(dashboard)
        == _rebuild_api(api, meter["id"])
        == {"status": "running", "eventsDone": "4", "eventsTotal": "10"}
    )
    progress = api.get(f"/meters/{meter['id']}").json(parse_float=Decimal)["meter"]["rebuild"]["progress"]
    expect(page.locator("#rebuild-state dd[data-field='progress']")).to_contain_text(decimal_text(Decimal(progress)))
    dashboard.shot("meter-rebuilding")

    release(db, claimed[0])  # as if its holder had stopped: the next run takes it over
    run_rebuilds(db)
    page.reload()
    assert (
        _rebuild_shown(dashboard)
        == _rebuild_api(api, meter["id"])
        == {"status": "done", "eventsDone": "10", "eventsTotal": "10"}
    )
    dashboard.shot("meter")


def test_empty_states_and_errors(live_server: LiveServer, account: Account) -> None:
    with signed_in(live_server, account) as client:
        text = client.get("/ui/meters").text
        assert "POST /meters" in text and "POST /catalogProducts" in text
        assert client.get("/ui/meters/" + "0" * 24).status_code == 404
        assert client.get("/ui/meters", params={"cursor": "x"}).status_code == 400
        assert client.get("/ui/meters", params={"pcursor": "x"}).status_code == 400
