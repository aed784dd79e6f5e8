"""Helpers for metering tests: meter documents and event batches."""

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from meterline.kit import jsonenc


def post_json(api: TestClient, path: str, body: Any) -> Response:
    """POST with exact decimals in the body (the stdlib json cannot write Decimal)."""
    return api.post(path, content=jsonenc.dumps(body), headers={"content-type": "application/json"})


def meter_body(operator: str = "Sum", event_name: str = "api_call", **agg: Any) -> dict[str, Any]:
    method: dict[str, Any] = {"operator": operator}
    if operator != "Count" and "field" not in agg:
        method["field"] = "value"
    method.update({k: v for k, v in agg.items() if k != "filter"})
    body: dict[str, Any] = {"name": f"{operator} meter", "eventName": event_name, "aggregationMethod": method}
    if "filter" in agg:
        body["filter"] = agg["filter"]
        method.pop("filter", None)
    return body


def create_meter(api: TestClient, **kwargs: Any) -> dict[str, Any]:
    resp = api.post("/meters", json=meter_body(**kwargs))
    assert resp.status_code == 200, resp.text
    return resp.json()["meter"]  # type: ignore[no-any-return]


def event(
    ref: str, *, ts: str = "2026-01-10T10:00:00Z", alias: str = "acme", name: str = "api_call", **data: Any
) -> dict[str, Any]:
    return {"name": name, "timestamp": ts, "customerAlias": alias, "ref": ref, "data": data}


def send(api: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    resp = post_json(api, "/events", {"events": events})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]
