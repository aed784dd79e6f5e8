"""POST /cloudUsageSubmission and the extension GET, on SQLite and PostgreSQL."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from meterline.db.engine import Database
from meterline.kit import jsonenc
from tests.conftest import login, make_account
from tests.metering.factories import post_json

KEY = "vayu-" + "-".join(["a" * 24, "b" * 24, "c" * 24, "d" * 24]) + "-1764400000000"


def result(key: str = KEY, **change: Any) -> dict[str, Any]:
    return {
        "status": "ACCEPTED",
        "usageWindow": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00.000Z"},
        "correlationId": "corr-1",
        "idempotencyKey": key,
        "meterDimension": "API_CALLS",
        "acceptedQuantity": Decimal("12.345678901234567890"),
        "partnerSubmission": {"req-1": {"receivedAt": "2026-11-01T01:00:05Z", "status": "SUCCESS", "error": None}},
        "quantitySubmitted": Decimal("12.345678901234567890"),
        "timestampSubmitted": "2026-11-01T01:00:01+0000",
        "awsCustomerIdentifier": "aws-cust-1",
        **change,
    }


def _list(api: TestClient, **params: Any) -> Any:
    resp = api.get("/cloudUsageSubmission", params=params)
    assert resp.status_code == 200, resp.text
    return jsonenc.loads(resp.content)


def test_results_are_stored_once_per_key_and_listed(api: TestClient) -> None:
    other_key = KEY.replace("a" * 24, "e" * 24)
    rejected = result(other_key, status="REJECTED", acceptedQuantity=0, errorCode="E1", errorMessage="bad customer")
    resp = post_json(api, "/cloudUsageSubmission", {"productCode": "prod-x", "results": [result(), rejected]})
    assert resp.status_code == 200 and resp.json() == {}
    # The same keys again (and once more inside one request): nothing new is stored.
    again = {"productCode": "prod-x", "results": [result(correlationId="corr-2"), result(), rejected]}
    assert post_json(api, "/cloudUsageSubmission", again).json() == {}
    listed = _list(api)
    assert listed["total"] == 2 and listed["hasMore"] is False
    first, second = listed["results"]
    assert first["id"] != second["id"] and first["productCode"] == "prod-x"
    assert first["correlationId"] == "corr-1" and first["acceptedQuantity"] == Decimal("12.345678901234567890")
    assert first["usageWindow"] == {"start": "2026-11-01T00:00:00.000Z", "end": "2026-11-01T01:00:00.000Z"}
    assert first["timestampSubmitted"] == "2026-11-01T01:00:01.000Z"
    assert first["partnerSubmission"]["req-1"]["status"] == "SUCCESS"
    assert (second["status"], second["errorCode"], second["acceptedQuantity"]) == ("REJECTED", "E1", 0)
    page = _list(api, limit=1)
    assert [r["id"] for r in page["results"]] == [first["id"]] and page["hasMore"] is True
    nxt = _list(api, limit=1, cursor=page["nextCursor"])
    assert [r["id"] for r in nxt["results"]] == [second["id"]] and nxt["hasMore"] is False
    assert _list(api, productCode="prod-y") == {"results": [], "total": 0, "hasMore": False}
    # The document's key form (no millisecond stamp) is accepted too.
    plain = "vayu-" + "-".join(["f" * 24] * 4)
    assert post_json(api, "/cloudUsageSubmission", {"productCode": "prod-y", "results": [result(plain)]}).json() == {}
    assert _list(api, productCode="prod-y")["total"] == 1


def test_bad_submissions_are_400_and_store_nothing(api: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"results": [result()]}, "productCode"),
        ({"productCode": "p", "results": []}, "results"),
        ({"productCode": "p", "results": [result("key-1")]}, "results[0].idempotencyKey"),
        ({"productCode": "p", "results": [result(status="DONE")]}, "results[0].status"),
        ({"productCode": "p", "results": [result(quantitySubmitted=-1)]}, "results[0].quantitySubmitted"),
        ({"productCode": "p", "results": [result(acceptedQuantity=13)]}, "results[0].acceptedQuantity"),
        ({"productCode": "p", "results": [result(timestampSubmitted="later")]}, "results[0].timestampSubmitted"),
        (
            {
                "productCode": "p",
                "results": [result(usageWindow={"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"})],
            },
            "results[0].usageWindow.end",
        ),
        (
            {"productCode": "p", "results": [{k: v for k, v in result().items() if k != "correlationId"}]},
            "results[0].correlationId",
        ),
        ({"productCode": "p", "results": [result(bogus=1)]}, "results[0].bogus"),
    ]
    for body, param in cases:
        resp = post_json(api, "/cloudUsageSubmission", body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["param"] == param and resp.json()["type"] == "invalid_request_error", resp.json()
    assert _list(api)["total"] == 0


def test_results_belong_to_their_account(api: TestClient, db: Database) -> None:
    assert post_json(api, "/cloudUsageSubmission", {"productCode": "p", "results": [result()]}).json() == {}
    other = make_account(db, "other")
    with TestClient(api.app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert _list(c2)["total"] == 0
        # Keys are per account: the same key is a new record there.
        assert post_json(c2, "/cloudUsageSubmission", {"productCode": "p", "results": [result()]}).json() == {}
        assert _list(c2)["total"] == 1
    assert _list(api)["total"] == 1
