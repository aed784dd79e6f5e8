"""Every operation's 200 answer, with real data, conforms to our /openapi.json, on SQLite
AND PostgreSQL.

A scenario calls each operation once with valid input (meter -> customers -> catalog
product -> plan -> contract -> events -> measurements -> consumption -> credits ->
invoices -> webhooks -> deletions); every answer is checked by schemathesis against the
operation's documented status, content type and schema. tests/test_fuzz_openapi.py covers
generated (mostly invalid) input.
"""

from decimal import Decimal
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from meterline.kit.times import now_us
from tests.conftest import Account
from tests.webhooks.support import drive

SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}
BILLING = {"billingInterval": "Monthly", "duration": -1, "paymentTerm": "Postpayment", "autoRenewal": False}


def _line(product_id: str | None, pricing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    line = {"displayName": "line", "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}}}
    if product_id is not None:
        line["catalogProductId"] = product_id
    return line | {"pricing": pricing} | extra


def _event(ref: str, day: int, tokens: int = 5) -> dict[str, Any]:
    ts = f"2025-01-{day:02d}T00:00:00Z"
    return {"name": "api_call", "timestamp": ts, "customerAlias": "acme", "ref": ref, "data": {"tokens": tokens}}


def _scenario(api: TestClient, account: Account, db: Database) -> None:
    def ok(resp: httpx.Response, *keys: str) -> Any:
        assert resp.status_code == 200, (resp.request.method, resp.request.url, resp.text)
        body = resp.json()
        for key in keys:
            body = body[key]
        return body

    ok(api.post("/login", json={"refreshToken": account.api_key}))

    meter = {"name": "Tokens", "eventName": "api_call", "aggregationMethod": {"operator": "Sum", "field": "tokens"}}
    filtered = meter | {"filter": {"conditions": [{"criterions": [{"field": "r", "operator": "Exists"}]}]}}
    meter_id = ok(api.post("/meters", json=meter), "meter", "id")
    spare_meter = ok(api.post("/meters", json=filtered | {"name": "Spare"}), "meter", "id")
    ok(api.get("/meters"))
    ok(api.get(f"/meters/{meter_id}"))
    ok(api.put(f"/meters/{spare_meter}", json={"name": "Spare 2"}))
    ok(api.delete(f"/meters/{spare_meter}"))

    acme = {"name": "Acme", "aliases": ["acme"], "externalId": "ext-1", "salesForceAccountId": "SF-1"}
    cid = ok(api.post("/customers", json=acme), "customer", "id")
    child = ok(api.post("/customers", json={"name": "Child"}), "customer", "id")
    ok(api.get("/customers"))
    ok(api.get(f"/customers/{cid}"))
    ok(api.put(f"/customers/{cid}", json={"name": "Acme"}))
    ok(api.get("/customers/externalId/ext-1"))
    ok(api.get("/customers/name/Acme"))
    ok(api.get("/customers/integration/Salesforce/SF-1"))
    relation = {"vayuParentCustomerId": cid, "vayuChildCustomerId": child}
    rid = ok(api.post("/customer-relations", json=relation), "customerRelation", "id")
    ok(api.get(f"/customer-relations/{rid}"))

    field = {"vayuEntity": "Customer", "vayuCustomFieldName": "tier", "valueType": "String"}
    fid = ok(api.post("/customFields", json=field), "customField", "id")
    ok(api.get("/customFields"))
    ok(api.get(f"/customFields/{fid}"))
    ok(api.put(f"/customFields/{fid}", json={"vayuCustomFieldName": "tier 2"}))
    ok(api.delete(f"/customFields/{fid}"))

    pid = ok(api.post("/catalogProducts", json={"name": "API", "meterId": meter_id}), "catalogProduct", "id")
    spare_product = ok(api.post("/catalogProducts", json={"name": "Spare"}), "catalogProduct", "id")
    ok(api.get("/catalogProducts"))
    ok(api.get(f"/catalogProducts/{pid}"))
    ok(api.put(f"/catalogProducts/{spare_product}", json={"name": "Spare 2"}))
    ok(api.delete(f"/catalogProducts/{spare_product}"))

    usage = _line(pid, {"type": "PER_UNIT", "price": 0.01}, commitment={"units": 10, "overageStrategy": "IGNORE"})
    plan = {"name": "Pro", "status": "Active", "billingData": BILLING, "products": [usage]}
    plan_id = ok(api.post("/plans", json=plan), "plan", "id")
    ok(api.get("/plans"))
    ok(api.get(f"/plans/{plan_id}"))
    ok(api.delete(f"/plans/{plan_id}"))

    contract = {
        "name": "Deal",
        "customerId": cid,
        "startDate": "2025-01-01T00:00:00Z",
        "endDate": "2025-03-01T00:00:00Z",
        "products": [usage, _line(None, SUB)],
        "salesForceOpportunityId": "006ABC",
    }
    kid = ok(api.post("/contracts", json=contract), "contract", "id")
    spare_contract = ok(api.post("/contracts", json=contract | {"salesForceOpportunityId": "007"}), "contract", "id")
    ok(api.get("/contracts", params={"customerId": cid}))
    ok(api.get(f"/contracts/{kid}"))
    ok(api.get("/contracts/integration/Salesforce/006ABC"))
    ok(api.post(f"/contracts/{spare_contract}/terminate", json={}))
    ok(api.delete(f"/contracts/{spare_contract}"))

    bad = {"name": "api_call", "timestamp": "not a time", "customerAlias": "acme", "ref": "bad"}
    ok(api.post("/events", json={"events": [_event("e1", 2), _event("e2", 3), bad]}))
    ok(api.post("/v2/events", json={"events": [_event("e3", 4), _event("e4", 5), _event("e5", 6)]}))
    ok(api.post("/events/dry-run", json={"events": [_event("d1", 2)]}))
    ok(api.post("/v2/events/dry-run", json={"events": [_event("d2", 2)]}))
    window = {"startTime": "2025-01-01T00:00:00Z", "endTime": "2025-02-01T00:00:00Z"}
    ok(api.get("/events", params=window))
    ok(api.get("/ingestion-counts", params={"startTime": "2020-01-01T00:00:00Z", "endTime": "2021-01-01T00:00:00Z"}))
    ok(api.get("/v2/events", params=window | {"limit": 1}))
    ok(api.get("/events/e1"))
    ok(api.get("/v2/events/e3"))
    ok(api.delete("/events/e2"))
    ok(api.delete("/v2/events/e4"))
    ok(api.post("/events/delete-by-refs", json={"refs": ["e5"]}))
    ok(api.post("/v2/events/delete-by-refs", json={"refs": ["e3"]}))

    measurement = {
        "customerId": cid,
        "meterId": meter_id,
        "usageDate": {"year": 2025, "month": 1, "day": 9},
        "value": 7,
    }
    mid = ok(api.post("/measurements", json=measurement), "measurement", "id")
    ok(api.get("/measurements", params={"customerId": cid}))
    ok(api.get(f"/measurements/{mid}"))

    at = {"at": "2025-01-20T00:00:00Z"}
    ok(api.get(f"/customers/products-consumptions/{cid}", params=at))
    ok(api.get("/customers/products-consumptions/alias/acme", params=at))
    ok(api.get(f"/product-consumption/{pid}", params=at | {"customerId": cid}))
    ok(api.delete(f"/measurements/{mid}"))

    ok(api.post("/credits/grant", json={"customerId": cid, "creditAmount": 30}))
    ok(api.post("/credits/deduct", json={"customerId": cid, "creditAmount": 5}))
    ok(api.get("/credits", params={"customerId": cid}))

    invoices = ok(api.get("/invoices", params={"customerId": cid}), "invoices")
    assert invoices
    ok(api.get(f"/invoices/{invoices[0]['id']}"))
    ok(api.get(f"/invoices/{invoices[0]['id']}/payment-status"))
    due = [i for i in invoices if i["billingStatus"] != "None" and Decimal(str(i["amount"])) > 0]
    assert due, invoices
    ok(api.post(f"/invoices/{due[0]['id']}/payments", json={"amount": "0.01", "reference": "wire-1"}))
    ok(api.get(f"/invoices/{due[0]['id']}/payments"))

    series = {
        "customerId": cid,
        "period": {"startTime": "2025-01-01T00:00:00Z", "endTime": "2025-01-05T00:00:00Z"},
        "meters": [{"key": "calls", "eventName": "api_call", "aggregation": {"operator": "Count"}}],
        "groupBy": "day",
        "fillDates": True,
    }
    ok(api.post("/v2/events/aggregation", json=series))
    result = {
        "status": "ACCEPTED",
        "usageWindow": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T01:00:00Z"},
        "correlationId": "corr-1",
        "idempotencyKey": "vayu-" + "-".join(c * 24 for c in "abcd") + "-1735693200000",
        "meterDimension": "API_CALLS",
        "acceptedQuantity": 12,
        "quantitySubmitted": 12,
        "timestampSubmitted": "2025-01-01T01:00:01+0000",
        "awsCustomerIdentifier": "aws-cust-1",
        "partnerSubmission": {"req-1": {"receivedAt": "2025-01-01T01:00:05Z", "status": "SUCCESS", "error": None}},
    }
    ok(api.post("/cloudUsageSubmission", json={"productCode": "prod-x", "results": [result]}))
    ok(api.get("/cloudUsageSubmission"))

    hook = {"callbackUrl": "https://example.com/hook", "eventType": "Overage"}
    wid = ok(api.post("/webhook", json=hook), "webhook", "id")
    ok(api.get("/webhooks"))
    ok(api.get(f"/webhooks/{wid}"))
    ok(api.get(f"/webhooks/{wid}/deliveries"))
    ok(api.get("/webhooks/public-key"))
    # A receiver that refuses connections; one worker pass a day later fails both deliveries.
    local = ok(api.post("/webhook", json={"callbackUrl": "http://127.0.0.1:9/hook", "eventType": "Overage"}), "webhook")
    ok(api.post(f"/webhooks/{local['id']}/test"))
    drive(db, now=now_us() + 25 * 3600 * 1_000_000)
    failed = ok(api.get(f"/webhooks/{local['id']}/deliveries"), "deliveries")[0]
    assert failed["status"] == "failed"
    ok(api.post(f"/webhooks/{local['id']}/deliveries/{failed['id']}/redeliver"))
    ok(api.delete(f"/webhooks/{wid}"))

    ok(api.delete(f"/customers/{child}"))


def test_every_operation_answers_as_documented(app: FastAPI, api: TestClient, account: Account, db: Database) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    answers: list[httpx.Response] = []

    def record(response: httpx.Response) -> None:
        response.read()
        answers.append(response)

    api.event_hooks["response"].append(record)
    _scenario(api, account, db)

    checked = set()
    for response in answers:
        operation = schema.find_operation_by_path(response.request.method, response.request.url.path)
        assert operation is not None, (response.request.method, response.request.url.path)
        operation.validate_response(response)  # raises on a status, content type or body the document denies
        checked.add(operation.label)
    documented = {f"{m.upper()} {p}" for p, item in app.openapi()["paths"].items() for m in item}
    assert checked == documented, documented ^ checked
