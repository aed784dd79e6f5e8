"""Our /openapi.json names paths and operationIds as Vayu's document does."""

from pathlib import Path

import yaml
from fastapi.testclient import TestClient

VENDOR = Path(__file__).resolve().parents[1].parent / "shared" / "vayu-openapi.yaml"
# Our own extensions: not in Vayu's document.
EXTENSIONS = {
    ("post", "/meters"),
    ("post", "/plans"),
    ("get", "/webhooks"),
    ("delete", "/webhooks/{webhookId}"),
    ("get", "/webhooks/public-key"),
    ("get", "/webhook/public-key"),
    ("get", "/webhooks/{webhookId}"),
    ("get", "/webhooks/{webhookId}/deliveries"),
    ("post", "/contracts/{contractId}/terminate"),
    ("get", "/cloudUsageSubmission"),
}
# Paths the official client (vayu-py 0.3.11) calls that the published document predates.
CLIENT_PATHS = {"/customFields", "/customFields/{customFieldId}", "/plans", "/plans/{planId}"}


def _vendor_operations() -> dict[tuple[str, str], str]:
    doc = yaml.safe_load(VENDOR.read_text())
    return {
        (method, path): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def test_operation_ids_match_vayu(client: TestClient) -> None:
    ours = client.get("/openapi.json").json()
    vendor = _vendor_operations()
    served = {
        (method, path): op.get("operationId") for path, item in ours["paths"].items() for method, op in item.items()
    }
    assert ("post", "/login") in served and ("get", "/customers/{customerId}") in served
    for key, op_id in served.items():
        if key in vendor:
            assert op_id == vendor[key], key
        else:
            assert key in EXTENSIONS or key[1] in CLIENT_PATHS or key[1].startswith("/v2/"), key


def test_openapi_declares_bearer_auth(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "Vayu API"
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
