"""HTTP helpers for invoice API tests (customers, contracts, credits through the API)."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient


def customer(api: TestClient, name: str = "Acme", **body: Any) -> str:
    resp = api.post("/customers", json={"name": name, **body})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["customer"]["id"])


def product_line(pricing: dict[str, Any], name: str = "line", billing_day: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "displayName": name,
        "scheduling": {"billingDay": billing_day, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": pricing,
        **extra,
    }


def contract(
    api: TestClient, customer_id: str, *lines: dict[str, Any], start: str, end: str | None = None, **extra: Any
) -> str:
    body: dict[str, Any] = {
        "customerId": customer_id,
        "name": "Acme deal",
        "startDate": start,
        "products": list(lines),
        **extra,
    }
    if end is not None:
        body["endDate"] = end
    resp = api.post("/contracts", json=body)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["contract"]["id"])


def grant(api: TestClient, customer_id: str, amount: str) -> None:
    body = f'{{"customerId": "{customer_id}", "creditAmount": {Decimal(amount)}}}'
    resp = api.post("/credits/grant", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text


def ledger(api: TestClient, customer_id: str) -> dict[str, Any]:
    resp = api.get("/credits", params={"customerId": customer_id, "limit": 1000})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def invoices(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    resp = api.get("/invoices", params={"limit": 1000, **params})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == len(body["invoices"]) and body["hasMore"] is False
    return body["invoices"]  # type: ignore[no-any-return]
