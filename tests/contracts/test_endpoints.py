"""Contracts over HTTP, on SQLite and PostgreSQL: full product-line schema, validation, terminate."""

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f

MONTHLY = {"billingDay": 15, "duration": {"unit": "MONTH", "value": 12}}


def every_pricing(pid: str) -> list[dict[str, Any]]:
    return [
        {
            "displayName": "Setup",
            "description": "one-off",
            "scheduling": MONTHLY,
            "pricing": {
                "type": "ONE_TIME",
                "price": 1500.10,
                "discount": {"name": "Launch", "type": "PERCENTAGE", "amount": 12.5, "recurring": 1},
                "isCreditPurchase": False,
            },
        },
        {
            "displayName": "Terms",
            "scheduling": MONTHLY,
            "pricing": {
                "type": "CONTRACT_TERMS",
                "price": 0.1,
                "installments": [{"installmentDate": "2026-03-01T00:00:00.000Z", "amount": 0.2}],
            },
            "paymentTerm": "Prepayment",
        },
        {
            "displayName": "Seats",
            "scheduling": {"duration": {"unit": "YEAR", "value": 1}},
            "pricing": {"type": "SUBSCRIPTION", "price": 99.99, "subscriptionCadence": {"unit": "MONTH", "value": 1}},
        },
        {
            "displayName": "Tokens",
            "catalogProductId": pid,
            "scheduling": MONTHLY,
            "pricing": {
                "type": "TIERED",
                "tiers": [
                    {"fromInclusive": 0, "toExclusive": 1000, "rate": 0.001, "flatFee": 5},
                    {"fromInclusive": 1000, "toExclusive": 5000.5, "rate": 0.0009, "packageSize": 100},
                    {"fromInclusive": 5000.5, "rate": 0.00000001},
                ],
                "usageReset": 3,
                "baseAmount": 10,
                "autoUpgrade": True,
            },
            "commitment": {
                "units": 123456.789,
                "price": 1000,
                "type": "UNITS",
                "scheduling": {"billingDay": 1, "duration": {"unit": "WEEK", "value": 2}},
                "overageStrategy": "TOP_UP",
            },
        },
        {
            "displayName": "Calls",
            "catalogProductId": pid,
            "scheduling": MONTHLY,
            "pricing": {"type": "PER_UNIT", "price": 0.003, "chunkSize": 1000, "usageReset": 1, "baseAmount": 0},
            "commitment": {"units": 0, "price": 30, "type": "PRICE", "overageStrategy": "BLOCK"},
        },
        {
            "displayName": "Rebate",
            "scheduling": MONTHLY,
            "pricing": {"type": "FIXED_DEDUCTION", "amountToDeduct": 250.55, "installments": 3},
        },
        {
            "displayName": "Partner",
            "scheduling": MONTHLY,
            "pricing": {"type": "PERCENTAGE_DEDUCTION", "percentageToDeduct": 7.25},
        },
    ]


def test_every_pricing_type_is_stored_faithfully(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api)
    pid = f.product(api, meter_id=f.meter(db, account.account_id))
    groups = [
        {
            "displayName": "Bundle",
            "products": [f.usage_line(pid, units=None) | {"commitment": None}],
            "commitment": {"units": 500.5, "overageStrategy": "IGNORE"},
            "baseAmount": 1.5,
        }
    ]
    body = {
        "name": "Enterprise",
        "customerId": cid,
        "startDate": "2026-01-31T00:00:00.000Z",
        "endDate": "2027-01-31T00:00:00.000Z",
        "signatureDate": "2026-01-15T10:20:30.123456Z",
        "products": every_pricing(pid),
        "productGroups": groups,
        "shouldProRateInvoices": True,
        "autoRenewContract": False,
        "salesForceOpportunityId": "006ABC",
        "purchaseOrder": "PO-1",
        "customFields": None,
    }
    resp = api.post("/contracts", json=body)
    assert resp.status_code == 200, resp.text
    c = resp.json()["contract"]
    assert c["status"] == "Active" and c["customerId"] == cid and len(c["id"]) == 24
    for key, value in body.items():
        assert c[key] == value, key
    # exact decimals on the wire, never through a float
    raw = api.get(f"/contracts/{c['id']}").text
    for text in ('"rate":0.00000001', '"units":123456.789', '"price":1500.1', '"amount":0.2', '"toExclusive":5000.5'):
        assert text in raw, text
    assert json.loads(raw)["contract"] == c
    assert api.get("/contracts/integration/Salesforce/006ABC").json()["contract"]["id"] == c["id"]
    assert api.get(f"/contracts/integration/Vayu/{c['id']}").json()["contract"]["id"] == c["id"]
    assert api.get("/contracts/integration/Hubspot/006ABC").status_code == 404
    assert api.get("/contracts/integration/Nope/1").status_code == 400
    for kind in ("Snowflake", "Connact", "Xero", "Stripe", "Morning", "Anrok", "S3", "Slack"):
        resp = api.get(f"/contracts/integration/{kind}/006ABC")
        assert resp.status_code == 404 and resp.json()["code"] == "resource_not_found", (kind, resp.text)


def _post(api: TestClient, cid: str, **body: Any) -> Any:
    return api.post("/contracts", json={"name": "c", "customerId": cid, "startDate": "2026-01-01T00:00:00Z", **body})


def test_bad_lines_are_400_with_param(api: TestClient) -> None:
    cid = f.customer(api)
    line = f.usage_line(None)
    tiers = {"type": "TIERED", "tiers": [{"fromInclusive": 0, "toExclusive": 10}, {"fromInclusive": 5}]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"products": [line | {"pricing": {"type": "PER_UNIT", "price": -1}}]}, "products[0].pricing.price"),
        ({"products": [line | {"pricing": {"type": "BOGUS", "price": 1}}]}, "products[0].pricing"),
        ({"products": [line | {"pricing": tiers}]}, "products[0].pricing.tiers"),
        (
            {
                "products": [
                    line | {"pricing": {"type": "TIERED", "tiers": [{"fromInclusive": 0}, {"fromInclusive": 5}]}}
                ]
            },
            "products[0].pricing.tiers",
        ),
        (
            {"products": [line | {"pricing": {"type": "TIERED", "tiers": [{"fromInclusive": 5, "toExclusive": 5}]}}]},
            "products[0].pricing.tiers[0]",
        ),
        (
            {"products": [line | {"pricing": {"type": "PER_UNIT", "price": 1, "usageReset": 5}}]},
            "products[0].pricing",
        ),
        (
            {"products": [line | {"pricing": {"type": "PER_UNIT", "price": 1, "chunkSize": 0}}]},
            "products[0].pricing.chunkSize",
        ),
        ({"products": [line | {"commitment": {"units": -1}}]}, "products[0].commitment.units"),
        ({"products": [line | {"commitment": {"units": 1, "type": "PRICE"}}]}, "products[0].commitment"),
        (
            {"products": [line | {"commitment": {"units": 1, "overageStrategy": "MAYBE"}}]},
            "products[0].commitment.overageStrategy",
        ),
        (
            {"products": [line | {"scheduling": {"duration": {"unit": "HOUR", "value": 1}}}]},
            "products[0].scheduling.duration.unit",
        ),
        (
            {"products": [line | {"scheduling": {"billingDay": 32, "duration": {"unit": "DAY", "value": 1}}}]},
            "products[0].scheduling.billingDay",
        ),
        ({"products": [{k: v for k, v in line.items() if k != "pricing"}]}, "products[0].pricing"),
        ({"products": [line | {"catalogProductId": "abc"}]}, "products[0].catalogProductId"),
        ({"productGroups": [{"displayName": "g", "products": []}]}, "productGroups[0].products"),
        (
            {"products": [line | {"pricing": {"type": "PERCENTAGE_DEDUCTION", "percentageToDeduct": 101}}]},
            "products[0].pricing.percentageToDeduct",
        ),
        (
            {
                "products": [
                    line
                    | {
                        "pricing": {"type": "PER_UNIT", "price": 0},
                        "commitment": {"units": 1, "price": 5, "type": "PRICE"},
                    }
                ]
            },
            "products[0]",
        ),
        ({"endDate": "2025-12-31T00:00:00Z"}, "endDate"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"status": "Terminated", "terminationDate": "2099-01-01T00:00:00Z"}, "terminationDate"),
        ({"status": "PendingTermination", "terminationDate": "2020-01-01T00:00:00Z"}, "terminationDate"),
        ({"status": "Active", "terminationDate": "2099-01-01T00:00:00Z"}, "terminationDate"),
        ({"status": "Gone"}, "status"),
        ({"customerId": "xyz"}, "customerId"),
        ({"bogus": 1}, "bogus"),
    ]
    for body, param in cases:
        resp = _post(api, cid, **body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["type"] == "invalid_request_error", resp.text
        assert resp.json()["param"] == param, (body, resp.json())
    assert api.get("/contracts").json()["total"] == 0


def test_unknown_references_are_404(api: TestClient, db: Database) -> None:
    cid = f.customer(api)
    resp = _post(api, "0" * 24)
    assert resp.status_code == 404 and resp.json()["param"] == "customerId"
    resp = _post(api, cid, products=[f.usage_line("0" * 24)])
    assert resp.status_code == 404 and resp.json()["param"] == "products[0].catalogProductId"
    group = {"displayName": "g", "products": [f.usage_line(f.product(api)), f.usage_line("1" * 24)]}
    resp = _post(api, cid, productGroups=[group])
    assert resp.status_code == 404 and resp.json()["param"] == "productGroups[0].products[1].catalogProductId"
    resp = _post(api, cid, planId="0" * 24)
    assert resp.status_code == 404 and resp.json()["param"] == "planId"
    other = make_account(db, "other")
    with TestClient(api.app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert _post(c2, cid).status_code == 404
    assert api.get("/contracts").json()["total"] == 0


def test_plan_fills_the_lines(api: TestClient) -> None:
    cid = f.customer(api)
    pid = f.product(api)
    plan = api.post(
        "/plans",
        json={
            "name": "Pro",
            "billingData": {
                "billingInterval": "Monthly",
                "duration": 12,
                "paymentTerm": "Postpayment",
                "autoRenewal": True,
            },
            "products": [f.usage_line(pid, units=100)],
        },
    ).json()["plan"]
    c = f.contract(api, cid, planId=plan["id"])
    assert c["planId"] == plan["id"] and c["products"] == plan["products"] and c["productGroups"] == []
    assert _post(api, cid, planId=plan["id"], products=[f.usage_line(pid)]).json()["param"] == "planId"
    api.delete(f"/plans/{plan['id']}")
    assert api.get(f"/contracts/{c['id']}").json()["contract"]["products"] == plan["products"]


def test_list_filter_delete_and_tenancy(api: TestClient, app: FastAPI, db: Database) -> None:
    a, b = f.customer(api, "A"), f.customer(api, "B")
    ca = [f.contract(api, a)["id"] for _ in range(3)]
    cb = f.contract(api, b)["id"]
    listed = api.get("/contracts", params={"customerId": a}).json()
    assert [c["id"] for c in listed["contracts"]] == ca and listed["total"] == 3 and listed["hasMore"] is False
    assert api.get("/contracts").json()["total"] == 4
    assert api.get("/contracts", params={"customerId": "zz"}).json()["param"] == "customerId"
    page = api.get("/contracts", params={"limit": 2}).json()
    assert page["hasMore"] is True and len(page["contracts"]) == 2
    deleted = api.delete(f"/contracts/{cb}").json()["contract"]
    assert deleted["id"] == cb and deleted["deletedAt"].endswith("Z")
    assert api.get(f"/contracts/{cb}").status_code == 404
    assert api.get("/contracts", params={"customerId": b}).json() == {"contracts": [], "total": 0, "hasMore": False}
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        for method, path in [
            ("get", f"/contracts/{ca[0]}"),
            ("delete", f"/contracts/{ca[0]}"),
            ("post", f"/contracts/{ca[0]}/terminate"),
        ]:
            assert getattr(c2, method)(path).status_code == 404, path
        assert c2.get("/contracts").json()["total"] == 0


def test_terminate_now_and_later(api: TestClient) -> None:
    cid = f.customer(api)
    now_c = f.contract(api, cid)
    done = api.post(f"/contracts/{now_c['id']}/terminate").json()["contract"]
    assert done["status"] == "Terminated" and done["terminationDate"].endswith("Z")
    again = api.post(f"/contracts/{now_c['id']}/terminate")
    assert again.status_code == 400 and again.json()["code"] == "bad_request"

    later = f.contract(api, cid, endDate="2100-01-01T00:00:00.000Z")
    resp = api.post(f"/contracts/{later['id']}/terminate", json={"terminationDate": "2099-06-30T00:00:00+0000"})
    pending = resp.json()["contract"]
    assert pending["status"] == "PendingTermination" and pending["terminationDate"] == "2099-06-30T00:00:00.000Z"
    moved = api.post(f"/contracts/{later['id']}/terminate", json={"terminationDate": "2099-07-01T00:00:00Z"}).json()
    assert moved["contract"]["terminationDate"] == "2099-07-01T00:00:00.000Z"
    bad = api.post(f"/contracts/{later['id']}/terminate", json={"terminationDate": "soon"})
    assert bad.status_code == 400 and bad.json()["param"] == "terminationDate"
    inactive = f.contract(api, cid, status="Inactive")
    assert api.post(f"/contracts/{inactive['id']}/terminate").status_code == 400


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_created_in_every_status(api: TestClient) -> None:
    """Every status of Vayu's enum; Terminated / PendingTermination carry a termination date
    (default: the creation instant) and read through it as after terminate."""
    cid, ms = f.customer(api), timedelta(milliseconds=1)
    for status in ("InReview", "Active", "Inactive", "Expired", "Error"):
        c = f.contract(api, cid, status=status)
        assert c["status"] == status and "terminationDate" not in c, c
        assert api.get(f"/contracts/{c['id']}").json()["contract"]["status"] == status
    before = api.get("/contracts").json()["total"]

    past = f.contract(api, cid, status="Terminated", terminationDate="2026-01-20T00:00:00Z")
    assert past["status"] == "Terminated" and past["terminationDate"] == "2026-01-20T00:00:00.000Z"
    now_t = f.contract(api, cid, status="Terminated")
    assert now_t["status"] == "Terminated" and _at(now_t["terminationDate"]) - _at(now_t["createdAt"]) < ms
    assert api.post(f"/contracts/{now_t['id']}/terminate").status_code == 400

    pending = f.contract(api, cid, status="PendingTermination", terminationDate="2099-06-30T00:00:00+0000")
    assert pending["status"] == "PendingTermination" and pending["terminationDate"] == "2099-06-30T00:00:00.000Z"
    moved = api.post(f"/contracts/{pending['id']}/terminate", json={"terminationDate": "2099-07-01T00:00:00Z"})
    assert moved.json()["contract"]["terminationDate"] == "2099-07-01T00:00:00.000Z"
    # No date: the creation instant, so it has already been reached.
    defaulted = f.contract(api, cid, status="PendingTermination")
    assert defaulted["status"] == "Terminated"
    assert timedelta(0) <= _at(defaulted["terminationDate"]) - _at(defaulted["createdAt"]) < ms
    assert api.get("/contracts").json()["total"] == before + 4
