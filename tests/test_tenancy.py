"""Tenant isolation across every domain: another account's ids answer exactly as ids that
exist nowhere (404), its lists are empty, and refs/aliases/externalIds are per account."""

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import login, make_account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, post_json, send


def _as(app: FastAPI, db: Database, name: str) -> TestClient:
    acct = make_account(db, name)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {login(client, acct.api_key)}"
    return client


def _seed(api: TestClient) -> dict[str, Any]:
    cid = f.customer(api, aliases=["shared-alias"], externalId="shared-ext")
    meter = create_meter(api, operator="Sum", event_name="tokens")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    contract = f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=10)])
    send(api, [event("shared-ref", ts="2026-03-01T00:00:00Z", alias="shared-alias", name="tokens", value=3)])
    measurement = api.post(
        "/measurements",
        json={"customerId": cid, "meterId": meter["id"], "usageDate": {"year": 2026, "month": 3, "day": 2}, "value": 1},
    ).json()["measurement"]
    webhook = api.post("/webhook", json={"callbackUrl": "https://example.com/h", "eventType": "Overage"}).json()
    invoices = api.get("/invoices", params={"customerId": cid}).json()["invoices"]
    return {
        "customer": cid,
        "meter": meter["id"],
        "product": pid,
        "contract": contract["id"],
        "measurement": measurement["id"],
        "webhook": webhook["webhook"]["id"],
        "invoice": invoices[0]["id"],
    }


def test_another_account_sees_nothing(app: FastAPI, api: TestClient, db: Database) -> None:
    ids = _seed(api)
    other = _as(app, db, "other")
    gets = [
        f"/customers/{ids['customer']}",
        "/customers/externalId/shared-ext",
        f"/customers/products-consumptions/{ids['customer']}",
        "/customers/products-consumptions/alias/shared-alias",
        f"/meters/{ids['meter']}",
        f"/catalogProducts/{ids['product']}",
        f"/contracts/{ids['contract']}",
        f"/measurements/{ids['measurement']}",
        f"/webhooks/{ids['webhook']}",
        f"/invoices/{ids['invoice']}",
        f"/invoices/{ids['invoice']}/payment-status",
        "/events/shared-ref",
        f"/product-consumption/{ids['product']}?customerId={ids['customer']}",
    ]
    for path in gets:
        resp = other.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["code"] == "resource_not_found", path
    deletes = [
        f"/customers/{ids['customer']}",
        f"/meters/{ids['meter']}",
        f"/catalogProducts/{ids['product']}",
        f"/contracts/{ids['contract']}",
        f"/measurements/{ids['measurement']}",
        f"/webhooks/{ids['webhook']}",
        "/events/shared-ref",
    ]
    for path in deletes:
        assert other.delete(path).status_code == 404, path
    assert other.post(f"/webhooks/{ids['webhook']}/test").status_code == 404
    assert other.get(f"/webhooks/{ids['webhook']}/deliveries").status_code == 404
    for path, key in [
        ("/customers", "customers"),
        ("/meters", "meters"),
        ("/catalogProducts", "catalogProducts"),
        ("/contracts", "contracts"),
        ("/invoices", "invoices"),
        ("/webhooks", "webhooks"),
    ]:
        body = other.get(path).json()
        assert body[key] == [] and body["total"] == 0, path
    assert other.get("/credits", params={"customerId": ids["customer"]}).status_code == 404
    grant = other.post("/credits/grant", json={"customerId": ids["customer"], "creditAmount": 5})
    assert grant.status_code == 404
    foreign_contract = other.post(
        "/contracts",
        json={"name": "x", "customerId": ids["customer"], "startDate": "2026-01-01T00:00:00Z", "products": []},
    )
    assert foreign_contract.status_code == 404

    # identifiers are per account: the same alias, externalId and ref are free elsewhere
    f.customer(other, aliases=["shared-alias"], externalId="shared-ext")
    body = post_json(
        other,
        "/events",
        {"events": [event("shared-ref", ts="2026-03-01T00:00:00Z", alias="shared-alias", name="tokens", value=5)]},
    ).json()
    assert len(body["validEvents"]) == 1 and body["invalidEvents"] == []

    # and nothing the other account did changed the first account's view
    for path in gets:
        assert api.get(path).status_code == 200, path
    [entry] = api.get(
        f"/customers/products-consumptions/{ids['customer']}", params={"at": "2026-03-15T00:00:00Z"}
    ).json()["productsConsumptions"]
    assert entry["consumedAmount"] == 4  # 3 from the event + 1 from the measurement; not the other account's 5
