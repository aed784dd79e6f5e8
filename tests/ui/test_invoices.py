"""The invoices pages on both backends: an invoice's figures are GET /invoices/{id}'s,
recording a payment through the form changes its status as the API records it, filters and
pages live in the URL, refusals (CSRF, overpayment, bad filters) are clear 4xx pages."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.db.engine import Database, transaction
from meterline.invoices import service as invoices_service
from meterline.kit.pagination import PageRequest
from meterline.kit.times import now_us
from meterline.ui.render import num
from tests.conftest import Account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, send
from tests.support import LiveServer
from tests.ui.conftest import Dashboard
from tests.ui.data import SUB, D, csrf_of, get_json, issued_invoice, month_start, signed_in, z

PAGE = PageRequest(limit=100, after_seq=0)
SUBSCRIPTION_LINE = {
    "displayName": "Platform fee",
    "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
    "pricing": SUB,
}
BREAKDOWN = ("subtotal", "overage", "discount", "creditsUsed", "tax", "total")


def test_an_invoice_page_shows_the_apis_total_and_a_payment_changes_its_status(
    dashboard: Dashboard, api: TestClient
) -> None:
    page = dashboard.page
    dashboard.goto("/ui/invoices")
    expect(page.locator("#empty")).to_contain_text("No invoice yet")
    dashboard.shot("invoices-empty")
    cid, invoice_id = issued_invoice(api)
    dashboard.goto(f"/ui/invoices?customerId={cid}")
    expect(page.locator("#invoices tbody tr")).to_have_count(2)  # last month's, issued, and this month's draft
    dashboard.shot("invoices")
    page.click(f'tr[data-invoice-id="{invoice_id}"] a')
    page.wait_for_url(f"**/ui/invoices/{invoice_id}")
    invoice = get_json(api, f"/invoices/{invoice_id}")["invoice"]
    expect(page.locator("#invoice-total")).to_have_text(num(invoice["revenueBreakdown"]["total"]))
    assert invoice["amount"] == invoice["revenueBreakdown"]["total"] == 100
    for name in BREAKDOWN:
        expect(page.locator(f'#breakdown [data-field="{name}"]')).to_have_text(num(invoice["revenueBreakdown"][name]))
    expect(page.locator("#line-items tbody tr")).to_have_count(len(invoice["lineItems"]))
    expect(page.locator("#billing-status")).to_have_text("PendingPayment")
    dashboard.shot("invoice")
    # A partial payment, then the rest: the status follows the API's.
    page.fill("#amount", "40.5")
    page.fill("#reference", "wire-1")
    page.click("text=Record payment")
    page.wait_for_url(f"**/ui/invoices/{invoice_id}?recorded=1")
    expect(page.locator("[role=status]")).to_have_text("Payment recorded.")
    status = get_json(api, f"/invoices/{invoice_id}/payment-status")
    assert (status["billingStatus"], status["amountDue"]) == ("PendingPayment", 59.5)
    expect(page.locator("#amount-due")).to_have_text(num(status["amountDue"]))
    page.fill("#reference", "wire-2")  # the amount field offers what is due
    page.click("text=Record payment")
    page.wait_for_url(f"**/ui/invoices/{invoice_id}?recorded=1")
    status = get_json(api, f"/invoices/{invoice_id}/payment-status")
    assert (status["billingStatus"], status["amountDue"]) == ("Paid", 0)
    expect(page.locator("#billing-status")).to_have_text("Paid")
    expect(page.locator("#payments tbody tr")).to_have_count(2)
    dashboard.shot("invoice-paid")
    dashboard.goto("/ui/invoices?status=Paid")
    expect(page.locator("#invoices tbody tr")).to_have_count(1)
    expect(page.locator("#status")).to_have_value("Paid")


def test_refusals_are_clear_pages(live_server: LiveServer, account: Account, api: TestClient) -> None:
    _, invoice_id = issued_invoice(api)
    with signed_in(live_server.url, account.api_key) as client:
        html = client.get(f"/ui/invoices/{invoice_id}").text
        form = {"amount": "10", "reference": "r-1", "csrf": csrf_of(html)}
        assert client.post(f"/ui/invoices/{invoice_id}/payments", data={**form, "csrf": "0" * 32}).status_code == 403
        over = client.post(f"/ui/invoices/{invoice_id}/payments", data={**form, "amount": "100.01"})
        assert over.status_code == 400 and "exceeds the amount due 100" in over.text and 'role="alert"' in over.text
        bad = client.post(f"/ui/invoices/{invoice_id}/payments", data={**form, "amount": "ten"})
        assert bad.status_code == 400 and 'id="payment-error"' in bad.text
        assert get_json(api, f"/invoices/{invoice_id}/payment-status")["amountPaid"] == 0
        assert client.get("/ui/invoices?status=Sleeping").status_code == 400
        assert client.get("/ui/invoices?customerId=nothex").status_code == 400
        assert client.get("/ui/invoices?cursor=garbage").status_code == 400
        assert client.get("/ui/invoices/" + "0" * 24).status_code == 404
        missing = client.post("/ui/invoices/" + "0" * 24 + "/payments", data=form)
        assert missing.status_code == 404
        ok = client.post(f"/ui/invoices/{invoice_id}/payments", data=form)
        assert ok.status_code == 303 and ok.headers["location"] == f"/ui/invoices/{invoice_id}?recorded=1"
    assert get_json(api, f"/invoices/{invoice_id}/payment-status")["amountPaid"] == 10


def test_invoices_page_through_the_apis_cursor(live_server: LiveServer, account: Account, api: TestClient) -> None:
    cid = f.customer(api, "Long-standing", dueDays="60_DAYS")
    f.contract(api, cid, name="Two years", startDate=z(month_start(13)), products=[SUBSCRIPTION_LINE])
    listed = get_json(api, "/invoices", customerId=cid, limit=100)["invoices"]
    assert len(listed) == 14  # 13 issued and this month's draft
    seen: list[str] = []
    with signed_in(live_server.url, account.api_key) as client:
        url: str | None = f"/ui/invoices?customerId={cid}"
        while url is not None:
            html = client.get(url).text
            seen += re.findall(r'data-invoice-id="([0-9a-f]{24})"', html)
            found = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
            url = "/ui/invoices" + found.group(1).replace("&amp;", "&") if found else None
            assert url is None or f"customerId={cid}" in url  # the filter stays in the URL
    assert seen == [i["id"] for i in listed]  # every invoice once, in the API's order


def test_lists_leave_out_unbilled_usage_and_the_invoice_shows_it(
    live_server: LiveServer, account: Account, api: TestClient, db: Database
) -> None:
    """An issued invoice whose cycle got a late event: GET /invoices/{id} reports it in
    unbilledUsage and so does the invoice's page; the dashboard's lists (list_page with
    unbilled=False) answer the same invoices without that field."""
    cid = f.customer(api, "Late usage", aliases=["late"], dueDays="60_DAYS")
    meter = create_meter(api, operator="Sum", event_name="tokens")
    product = f.product(api, name="Tokens", meter_id=meter["id"])
    f.contract(api, cid, name="Usage", startDate=z(month_start(1)), products=[f.usage_line(product, units=10)])
    [issued] = [i for i in get_json(api, "/invoices", customerId=cid)["invoices"] if i["billingStatus"] != "None"]
    send(api, [event("late-1", ts=z(month_start(1) + timedelta(days=2)), name="tokens", alias="late", value=D("2.5"))])
    invoice = get_json(api, f"/invoices/{issued['id']}")["invoice"]
    assert [u["unbilledUsage"] for u in invoice["unbilledUsage"]] == [D("2.5")]
    with transaction(db) as conn:
        full = invoices_service.list_page(conn, account_id=account.account_id, page=PAGE, now=now_us(), customer_id=cid)
        lean = invoices_service.list_page(
            conn, account_id=account.account_id, page=PAGE, now=now_us(), customer_id=cid, unbilled=False
        )
    assert full.items[0]["unbilledUsage"] == invoice["unbilledUsage"]  # the issued one, first
    assert lean.items == [{k: v for k, v in i.items() if k != "unbilledUsage"} for i in full.items]
    with signed_in(live_server.url, account.api_key) as client:
        html = client.get(f"/ui/invoices/{issued['id']}").text
    assert 'id="unbilled"' in html and ">2.5</td>" in html
