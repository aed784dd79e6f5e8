"""The overview on both backends: a new account's empty state, then every figure equal to
what the API answers for the same account (events, customers, invoices) or known from the
data set up (contracts in force, uncharged events, webhook deliveries pending and failed)."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.overview import service as overview
from tests.conftest import Account
from tests.contracts import factories as f
from tests.metering.factories import event, send
from tests.ui.conftest import Dashboard
from tests.ui.data import get_json, issued_invoice, metered_customer, midnight, month_start, z
from tests.webhooks.support import drive, receiver

DAY_US = 86_400_000_000


def _figure(dashboard: Dashboard, name: str) -> str:
    return (dashboard.page.locator(f'[data-figure="{name}"]').text_content() or "").strip()


def test_the_overview_counts_what_the_api_answers(dashboard: Dashboard, api: TestClient, db: Database) -> None:
    page = dashboard.page
    expect(page.locator("#start-h")).to_have_text("Nothing here yet")
    assert _figure(dashboard, "eventsToday") == _figure(dashboard, "contractsInForce") == "0"
    dashboard.shot("overview-empty")

    metered_customer(api)
    issued_invoice(api)
    send(api, [event("stray", ts=z(midnight(0) + timedelta(minutes=1)), name="no_meter_for_this")])
    refused = [event("stray", ts=z(midnight(0))), {"name": "call", "ref": "no-alias", "timestamp": z(midnight(0))}]
    assert len(api.post("/events", json={"events": refused}).json()["invalidEvents"]) == 2
    with receiver() as good, receiver(script=[500]) as bad:
        for url in (good.url, bad.url):
            assert api.post("/webhook", json={"callbackUrl": url, "eventType": "InvoiceApproved"}).status_code == 200
        # The pings: one delivered, one failed past the give-up. (In a thread of its own:
        # Playwright's sync API holds an event loop in this one.)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(drive, db, now=now_us() + 2 * DAY_US).result()
        assert api.post("/webhook", json={"callbackUrl": good.url, "eventType": "Overage"}).status_code == 200

    dashboard.goto("/ui/overview")
    expect(page.locator("#start-h")).to_have_count(0)
    today, tomorrow = midnight(0), midnight(-1)
    this_month, next_month = month_start(0), month_start(-1)
    counted_today = get_json(api, "/ingestion-counts", startTime=z(today), endTime=z(tomorrow))
    counted_month = get_json(api, "/ingestion-counts", startTime=z(this_month), endTime=z(next_month))
    stored = get_json(api, "/events", startTime="2000-01-01T00:00:00Z", endTime="2100-01-01T00:00:00Z")["total"]
    assert counted_today["accepted"] == stored and counted_month["accepted"] >= counted_today["accepted"]
    assert (counted_today["invalid"], counted_today["duplicate"]) == (1, 1)
    expected = {
        "eventsToday": counted_today["accepted"],
        "eventsThisMonth": counted_month["accepted"],
        "invalidToday": counted_today["invalid"],
        "invalidThisMonth": counted_month["invalid"],
        "duplicateToday": counted_today["duplicate"],
        "duplicateThisMonth": counted_month["duplicate"],
        "customers": get_json(api, "/customers")["total"],
        "invoicesDue": get_json(api, "/invoices", billingStatus="PendingPayment")["total"],
        "invoicesOverdue": get_json(api, "/invoices", billingStatus="Overdue")["total"],
        "contractsInForce": 2,
        "unchargedToday": 1,  # the stray event: no meter reads its name
        "webhooksPending": 1,  # the Overage subscription's ping, not sent yet
        "webhooksFailed": 1,
    }
    assert expected["customers"] == 2 and expected["invoicesDue"] == 1
    assert {name: _figure(dashboard, name) for name in expected} == {k: str(v) for k, v in expected.items()}
    dashboard.shot("overview")
    page.click('[data-figure="invoicesDue"] a')
    page.wait_for_url("**/ui/invoices?status=PendingPayment")
    expect(page.locator("#invoices tbody tr")).to_have_count(1)


def test_contracts_in_force_and_invoices_due_follow_the_api(api: TestClient, db: Database, account: Account) -> None:
    """overview.service.figures against the API: contracts in force by the consumption rule
    (terminated, not started, ended and deleted ones are not), invoices by billing status
    as GET /invoices?billingStatus= counts them."""
    m = metered_customer(api)  # one contract in force
    issued_invoice(api)  # a second in force; last month's invoice PendingPayment
    late = f.customer(api, "Late payer", dueDays="SAME_DAY")
    f.contract(api, late, name="Overdue", startDate=z(month_start(1)), products=[_subscription()])
    gone = f.contract(api, m.customer_id, name="Terminated", startDate=z(midnight(5)))
    assert api.post(f"/contracts/{gone['id']}/terminate", json={}).status_code == 200
    f.contract(api, m.customer_id, name="Future", startDate=z(midnight(-5)))
    f.contract(api, m.customer_id, name="Ended", startDate=z(midnight(60)), endDate=z(midnight(10)))
    deleted = f.contract(api, m.customer_id, name="Deleted", startDate=z(midnight(5)))
    assert api.delete(f"/contracts/{deleted['id']}").status_code == 200
    due = get_json(api, "/invoices", billingStatus="PendingPayment")["total"]
    overdue = get_json(api, "/invoices", billingStatus="Overdue")["total"]
    assert due >= 1 and overdue >= 1  # the Late payer's invoice is past due (SAME_DAY)
    with transaction(db, write=False) as conn:
        figures = overview.figures(conn, account_id=account.account_id, now=now_us())
    assert (figures["contractsInForce"], figures["invoicesDue"], figures["invoicesOverdue"]) == (3, due, overdue)
    assert figures["customers"] == get_json(api, "/customers")["total"] == 3


def _subscription() -> dict[str, Any]:
    return {
        "displayName": "Fee",
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": {"type": "SUBSCRIPTION", "price": 10, "subscriptionCadence": {"unit": "MONTH", "value": 1}},
    }


def test_the_overview_issues_ended_cycles_first_as_get_invoices_does(
    app: FastAPI, api: TestClient, account: Account
) -> None:
    """A contract whose cycles ended before anything read invoices: the overview's first
    view already counts its issued invoices, equal to GET /invoices by status afterwards."""
    from tests.ui.data import SUB

    cid = f.customer(api, "Late starter", dueDays="SAME_DAY")
    line = {
        "displayName": "Fee",
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": SUB,
    }
    f.contract(api, cid, name="Three months ago", startDate=z(month_start(3)), products=[line])
    with TestClient(app, raise_server_exceptions=False) as ui:
        assert ui.post("/ui/sign-in", data={"key": account.api_key}, follow_redirects=False).status_code == 303
        html = ui.get("/ui/overview").text

    def shown(name: str) -> int:
        found = re.search(rf'data-figure="{name}"[^>]*>(?:<a [^>]*>)?(\d+)', html)
        assert found is not None, name
        return int(found.group(1))

    overdue = get_json(api, "/invoices", billingStatus="Overdue")["total"]
    due = get_json(api, "/invoices", billingStatus="PendingPayment")["total"]
    assert overdue + due >= 3
    assert (shown("invoicesDue"), shown("invoicesOverdue")) == (due, overdue)
