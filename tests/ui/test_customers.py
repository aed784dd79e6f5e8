"""The customers pages on both backends: the page shows the API's figures (products
consumptions, usage by day from the aggregation endpoint), search and pagination in the URL,
empty states, bad input answered 400/404 (never 500)."""

import json
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.db.engine import Database
from meterline.ui.render import num
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f
from tests.support import LiveServer
from tests.ui.conftest import Dashboard
from tests.ui.data import get_json, metered_customer, post_exact, signed_in

FIELDS = ("provisionedAmount", "consumedAmount", "remainingAmount", "exceededAmount", "windowStart", "windowEnd")


def _chart(dashboard: Dashboard) -> dict[str, Any]:
    return json.loads(dashboard.page.locator("#usage-data").text_content() or "")  # type: ignore[no-any-return]


def _table(dashboard: Dashboard, key: str) -> list[tuple[str, str]]:
    rows = dashboard.page.locator(f'table.usage-table[data-key="{key}"] tbody tr')
    cells = [r.locator("td") for r in rows.all()]
    return [(c.nth(0).text_content() or "", c.nth(1).text_content() or "") for c in cells]


def test_a_customers_page_shows_the_apis_figures(dashboard: Dashboard, api: TestClient) -> None:
    m = metered_customer(api)
    dashboard.goto(f"/ui/customers/{m.customer_id}")
    page = dashboard.page
    expect(page.locator("h1")).to_have_text("Acme Corp")
    # The cards: the same figures as GET /customers/products-consumptions/{id}, as the API writes them.
    entries = get_json(api, f"/customers/products-consumptions/{m.customer_id}")["productsConsumptions"]
    assert len(entries) == 2 and any(e["exceededAmount"] > 0 for e in entries)
    for entry in entries:
        card = page.locator(f'article.product[data-product-id="{entry["productId"]}"]')
        for name in FIELDS:
            expect(card.locator(f'[data-field="{name}"]')).to_have_text(num(entry[name]))
        expect(card.locator('[data-field="hasAccess"]')).to_have_text("yes" if entry["hasAccess"] else "no")
    # The chart: one point per day of the last 30, the aggregation endpoint's values.
    chart = _chart(dashboard)
    assert len(chart["days"]) == 30 and [s["key"] for s in chart["series"]] == [e["productId"] for e in entries]
    body = {**chart["request"], "period": chart["period"]}
    answer = post_exact(api, "/v2/events/aggregation", body)
    assert [p["group"] for p in answer["dataPoints"]] == chart["days"]
    for series in chart["series"]:
        expected = [num(p["values"][series["key"]]) for p in answer["dataPoints"]]
        assert series["values"] == expected
        assert _table(dashboard, series["key"]) == list(zip(chart["days"], expected, strict=True))
        provisioned = next(e["provisionedAmount"] for e in entries if e["productId"] == series["key"])
        assert series["provisioned"] == num(provisioned)
    assert any(v != "0" for s in chart["series"] for v in s["values"])
    expect(page.locator(".plot canvas")).to_have_count(2)  # uPlot drew both charts
    expect(page.locator("#credit-balance")).to_have_text("25.5")
    expect(page.locator("section.contract")).to_have_count(1)
    dashboard.shot("customer")
    page.click("text=90 days")
    page.wait_for_url(f"**/ui/customers/{m.customer_id}?days=90")
    assert len(_chart(dashboard)["days"]) == 90
    expect(page.locator(".plot canvas")).to_have_count(2)
    dashboard.shot("customer-90-days")


def test_search_and_pages_live_in_the_url(dashboard: Dashboard, api: TestClient) -> None:
    page = dashboard.page
    dashboard.goto("/ui/customers")
    expect(page.locator("#empty")).to_contain_text("No customer yet: create one with POST /customers")
    dashboard.shot("customers-empty")
    for i in range(30):
        f.customer(api, f"Customer {i:02d}", aliases=[f"alias-{i:02d}"], externalId=f"ext-{i:02d}")
    dashboard.goto("/ui/customers")
    expect(page.locator("#customers tbody tr")).to_have_count(25)
    dashboard.shot("customers")
    page.click("a[rel=next]")
    expect(page.locator("#customers tbody tr")).to_have_count(5)
    assert "cursor=" in page.url
    expect(page.locator("#customers tbody tr").first).to_contain_text("Customer 25")
    for q, name in (("ALIAS-07", "Customer 07"), ("ext-13", "Customer 13"), ("tomer 29", "Customer 29")):
        page.fill("#q", q)
        page.click("form[role=search] button")
        expect(page.locator("#customers tbody tr")).to_have_count(1)
        expect(page.locator("#customers tbody tr a")).to_have_text(name)
    page.locator("#customers tbody tr a").click()
    expect(page.locator("h1")).to_have_text("Customer 29")
    expect(page.locator("#no-products")).to_contain_text("No contract in force: create one with POST /contracts")
    dashboard.shot("customer-empty")
    dashboard.goto("/ui/customers?q=nobody")
    expect(page.locator("#empty")).to_contain_text("No customer's name, alias or external id contains")


def test_bad_input_and_other_accounts_customers(
    live_server: LiveServer, account: Account, api: TestClient, db: Database
) -> None:
    other = make_account(db, "other")
    with TestClient(api.app) as other_api:
        other_api.headers["Authorization"] = f"Bearer {login(other_api, other.api_key)}"
        theirs = f.customer(other_api, "Theirs", aliases=["theirs"])
    mine = f.customer(api, "Mine", aliases=["mine"])
    with signed_in(live_server.url, account.api_key) as client:
        assert client.get(f"/ui/customers/{theirs}").status_code == 404  # another account's
        assert "Theirs" not in client.get("/ui/customers?q=the").text
        assert client.get(f"/ui/customers/{mine}?days=7").status_code == 400
        assert client.get(f"/ui/customers/{mine}?days=x").status_code == 400
        assert client.get("/ui/customers?cursor=nope").status_code == 400
        assert client.get("/ui/customers/" + "f" * 24).status_code == 404
        page = client.get(f"/ui/customers/{mine}")
        assert page.status_code == 200
        assert "No contract in force: create one with" in page.text and 'id="usage-data"' not in page.text
        assert client.get("/ui/customers?q=%25").text.count('href="/ui/customers/') == 0  # % is literal
