"""Usage lines billed from real events and measurements (meter -> catalog product -> line)."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.invoices.api import contract, customer, invoices, product_line
from tests.metering.factories import create_meter, event, send


def test_usage_lines_bill_the_cycle_usage(api: TestClient) -> None:
    cid = customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="api_call")
    resp = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"]})
    assert resp.status_code == 200, resp.text
    product_id = resp.json()["catalogProduct"]["id"]
    send(
        api,
        [
            event("e1", ts="2025-01-05T10:00:00Z", value=3),
            event("e2", ts="2025-01-31T23:59:59.999Z", value=4),
            event("e3", ts="2025-02-01T00:00:00Z", value=25),
            event("e4", ts="2025-03-01T00:00:00Z", value=1000),  # after the contract
            event("e5", ts="2025-02-02T00:00:00Z", alias="someone-else", value=1000),
        ],
    )
    m = api.post(
        "/measurements",
        json={
            "customerId": cid,
            "meterId": meter["id"],
            "usageDate": {"year": 2025, "month": 2, "day": 10},
            "value": 6,
        },
    )
    assert m.status_code == 200, m.text
    contract(
        api,
        cid,
        product_line({"type": "PER_UNIT", "price": 0.5, "chunkSize": 10}, "API calls", catalogProductId=product_id),
        product_line(
            {"type": "PER_UNIT", "price": 1},
            "API calls (committed)",
            catalogProductId=product_id,
            commitment={"units": 20, "price": 100, "type": "UNITS"},
        ),
        product_line({"type": "PER_UNIT", "price": 1}, "No product"),
        start="2025-01-01T00:00:00Z",
        end="2025-03-01T00:00:00Z",
    )
    jan, feb = invoices(api, customerId=cid)
    # January: u = 7 -> 10 units x 0.5 = 5.00; committed 100, no overage
    assert [li["revenueBreakdown"]["subtotal"] for li in jan["lineItems"]] == [5, 100, 0]
    assert jan["revenueBreakdown"]["overage"] == 0
    # February: u = 25 + 6 (measurement) = 31 -> 40 x 0.5 = 20.00; 100 + 11 x 1 = 111, overage 11
    assert [li["revenueBreakdown"]["subtotal"] for li in feb["lineItems"]] == [20, 111, 0]
    assert [li["revenueBreakdown"]["overage"] for li in feb["lineItems"]] == [0, 11, 0]
    assert feb["revenueBreakdown"] == {
        "total": 131,
        "subtotal": 131,
        "overage": 11,
        "discount": 0,
        "creditsUsed": 0,
        "tax": 0,
    }


def test_the_draft_follows_usage(api: TestClient) -> None:
    now = datetime.now(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    cid = customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="api_call")
    product_id = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"]}).json()["catalogProduct"][
        "id"
    ]
    contract(
        api,
        cid,
        product_line({"type": "PER_UNIT", "price": 2}, "API calls", catalogProductId=product_id),
        start=start.isoformat().replace("+00:00", "Z"),
    )
    ts = max(start, now - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    send(api, [event("d1", ts=ts, value=5)])
    (draft,) = invoices(api, customerId=cid)
    assert draft["billingStatus"] == "None" and draft["amount"] == 10
    send(api, [event("d2", ts=ts, value=1)])
    (again,) = invoices(api, customerId=cid)
    assert again["id"] == draft["id"] and again["amount"] == 12


def test_late_events_do_not_change_an_issued_invoice_but_are_reported(api: TestClient) -> None:
    cid = customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="api_call")
    product_id = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"]}).json()["catalogProduct"][
        "id"
    ]
    send(api, [event("in-cycle", ts="2025-01-05T10:00:00Z", value=3)])
    contract(
        api,
        cid,
        product_line({"type": "PER_UNIT", "price": 2}, "API calls", catalogProductId=product_id),
        start="2025-01-01T00:00:00Z",
        end="2025-02-01T00:00:00Z",
    )
    [jan] = invoices(api, customerId=cid)
    assert jan["billingStatus"] != "None" and jan["revenueBreakdown"]["subtotal"] == 6
    assert "unbilledUsage" not in jan
    send(api, [event("late", ts="2025-01-20T00:00:00Z", value=4)])  # dated in the closed cycle
    [again] = invoices(api, customerId=cid)
    assert again["revenueBreakdown"] == jan["revenueBreakdown"] and again["amount"] == jan["amount"]
    assert again["unbilledUsage"] == [
        {"lineIndex": 0, "displayName": "API calls", "billedUsage": 3, "currentUsage": 7, "unbilledUsage": 4}
    ]
    one = api.get(f"/invoices/{jan['id']}").json()["invoice"]
    assert one["unbilledUsage"][0]["unbilledUsage"] == 4
