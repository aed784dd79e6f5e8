"""Factories shared by the catalog, plans, contracts, credits and measurements tests."""

from typing import Any

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.ids import new_id
from meterline.kit.times import now_us
from meterline.meters import repository as meters_repo


def customer(api: TestClient, name: str = "Acme", **body: Any) -> str:
    resp = api.post("/customers", json={"name": name, **body})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["customer"]["id"])


def meter(db: Database, account_id: str, *, name: str = "API calls", event_name: str = "api_call") -> str:
    """POST /meters is built elsewhere: insert through the meters repository."""
    meter_id = new_id()
    doc = {"name": name, "eventName": event_name, "aggregationMethod": {"operator": "Count"}}
    with transaction(db) as conn:
        meters_repo.insert(
            conn, account_id=account_id, meter_id=meter_id, name=name, event_name=event_name, doc=doc, now=now_us()
        )
    return meter_id


def product(api: TestClient, name: str = "API", meter_id: str | None = None, **body: Any) -> str:
    payload: dict[str, Any] = {"name": name, **body}
    if meter_id is not None:
        payload["meterId"] = meter_id
    resp = api.post("/catalogProducts", json=payload)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["catalogProduct"]["id"])


def usage_line(product_id: str | None, *, units: Any = 1000, strategy: str = "BLOCK", **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "displayName": "API usage",
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": {"type": "PER_UNIT", "price": 0.01},
        "commitment": {"units": units, "price": 10, "overageStrategy": strategy},
        **extra,
    }
    if product_id is not None:
        line["catalogProductId"] = product_id
    return line


def contract(api: TestClient, customer_id: str, **body: Any) -> dict[str, Any]:
    payload = {"name": "Contract", "customerId": customer_id, "startDate": "2026-01-31T00:00:00.000Z", **body}
    resp = api.post("/contracts", json=payload)
    assert resp.status_code == 200, resp.text
    return resp.json()["contract"]  # type: ignore[no-any-return]
