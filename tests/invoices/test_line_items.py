"""Readable line items (docs/semantics.md "Readable line items"): each names its product
line and shows quantity, unit price or tiers, commitment, charge and discount; the totals
are those of invoices.totals; the official client still parses the invoice."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openapi.models.get_invoice_response import GetInvoiceResponse

from meterline.invoices.cycles import cycles
from meterline.invoices.totals import compute_invoice
from tests.invoices.api import contract, customer, invoices, product_line
from tests.invoices.factories import (
    commitment,
    discount,
    fixed_deduction,
    line,
    one_time,
    per_unit,
    subscription,
    tier,
    tiered,
)
from tests.invoices.factories import contract as contract_doc
from tests.metering.factories import create_meter, event, send

D = Decimal


def test_worked_example_line_details() -> None:
    c = contract_doc(
        line(subscription("99.99", discount=discount("PERCENTAGE", "15")), name="Platform"),
        line(per_unit("0.10", chunk="100"), name="Events", commitment=commitment("10000", "800")),
        line(tiered(tier("0", "100", rate="1"), tier("100", None, rate="0.5", flat="5")), name="Storage"),
        line(one_time("250"), name="Setup"),
        line(fixed_deduction("40"), name="Welcome"),
    )
    cycle = cycles(c)[0]
    amounts = compute_invoice(c, cycle, {1: D("12345"), 2: D("130")})
    platform, events, storage, setup, welcome = (x.detail for x in amounts.lines)
    assert platform == {
        "lineIndex": 0,
        "linePath": "products[0]",
        "catalogProductId": None,
        "pricingType": "SUBSCRIPTION",
        "quantity": 1,
        "unitPrice": D("99.99"),
    }
    # 12345 used, 10000 committed: 2345 beyond, billed in chunks of 100 -> 2400 x 0.10 = 240
    assert events["quantity"] == 12345 and events["billedQuantity"] == 2400 and events["unitPrice"] == D("0.10")
    assert events["commitment"] == {"type": "UNITS", "units": D("10000"), "price": D("800"), "coveredUnits": 10000}
    assert amounts.lines[1].subtotal == D("1040.00")  # 800 + 240
    # 130 units: 100 x 1 + 30 x 0.5 + 5 flat = 120
    assert [(t["units"], t["amount"]) for t in storage["tiers"]] == [(100, 100), (30, D("20.0"))]
    assert storage["billedQuantity"] == 130 and amounts.lines[2].subtotal == D("120.00")
    assert (setup["quantity"], setup["unitPrice"]) == (1, D("250"))
    assert welcome == {
        "lineIndex": 4,
        "linePath": "products[4]",
        "catalogProductId": None,
        "pricingType": "FIXED_DEDUCTION",
        "quantity": None,
        "unitPrice": None,
    }
    assert amounts.lines[4].discount == D("40.00")
    # the second cycle: no setup, the quantity says so
    second = compute_invoice(c, cycles(c)[1], {})
    assert second.lines[3].detail["quantity"] == 0 and second.lines[1].detail["billedQuantity"] == 0


def test_line_items_over_http_name_their_product(api: TestClient) -> None:
    cid = customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="api_call")
    resp = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"]})
    assert resp.status_code == 200, resp.text
    pid = resp.json()["catalogProduct"]["id"]
    send(api, [event("e1", ts="2025-01-05T10:00:00Z", value=7)])
    sub: dict[str, Any] = {
        "type": "SUBSCRIPTION",
        "price": 100,
        "subscriptionCadence": {"unit": "MONTH", "value": 1},
        "discount": {"name": "intro", "type": "FIXED", "amount": 10},
    }
    contract(
        api,
        cid,
        product_line(sub, "Platform"),
        product_line({"type": "PER_UNIT", "price": 0.5}, "API calls", catalogProductId=pid),
        start="2025-01-01T00:00:00Z",
        end="2025-02-01T00:00:00Z",
    )
    [inv] = invoices(api, customerId=cid)
    platform, calls = inv["lineItems"]
    assert (platform["displayName"], platform["productName"], platform["catalogProductId"]) == (
        "Platform",
        None,
        None,
    )
    assert (platform["quantity"], platform["unitPrice"], platform["charge"], platform["discount"]) == (1, 100, 100, 10)
    assert platform["amount"] == 90 and platform["revenueBreakdown"]["total"] == 90
    assert (calls["productName"], calls["catalogProductId"], calls["linePath"]) == ("API", pid, "products[1]")
    assert (calls["quantity"], calls["billedQuantity"], calls["unitPrice"], calls["charge"]) == (7, 7, 0.5, 3.5)
    assert inv["revenueBreakdown"]["total"] == 93.5  # 90 + 3.50
    raw = api.get(f"/invoices/{inv['id']}")
    parsed = GetInvoiceResponse.from_json(raw.text).invoice
    assert parsed.amount == 93.5 and len(parsed.line_items) == 2
    assert parsed.line_items[1].additional_properties["productName"] == "API"
    assert parsed.due_date is not None
