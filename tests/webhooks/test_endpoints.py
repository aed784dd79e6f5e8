"""Webhook subscriptions and the public key over HTTP, on SQLite and PostgreSQL."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account


def _subscribe(api: TestClient, **body: object) -> dict[str, object]:
    resp = api.post("/webhook", json={"callbackUrl": "https://example.com/hook", "eventType": "Overage", **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["webhook"]  # type: ignore[no-any-return]


def test_subscribe_list_get_delete(api: TestClient) -> None:
    w = _subscribe(api, threshold=0.8)
    assert len(str(w["id"])) == 24 and w["eventType"] == "Overage" and w["threshold"] == 0.8
    assert '"threshold":0.8' in api.get(f"/webhooks/{w['id']}").text
    plain = _subscribe(api, callbackUrl="http://127.0.0.1:9/x?a=1", eventType="InvoiceApproved")
    assert plain["threshold"] is None and plain["callbackUrl"] == "http://127.0.0.1:9/x?a=1"

    page = api.get("/webhooks").json()
    assert [x["id"] for x in page["webhooks"]] == [w["id"], plain["id"]]
    assert page["total"] == 2 and page["hasMore"] is False
    page = api.get("/webhooks", params={"limit": 1}).json()
    assert page["hasMore"] is True and page["total"] == 2
    assert api.get("/webhooks", params={"limit": 1, "cursor": page["nextCursor"]}).json()["webhooks"][0] == plain
    assert api.get("/webhooks", params={"eventType": "InvoiceApproved"}).json()["total"] == 1

    deleted = api.delete(f"/webhooks/{w['id']}").json()["webhook"]
    assert deleted["id"] == w["id"] and deleted["deletedAt"].endswith("Z")
    assert api.get(f"/webhooks/{w['id']}").status_code == 404
    assert api.delete(f"/webhooks/{w['id']}").status_code == 404
    assert api.get("/webhooks").json()["total"] == 1


def test_subscribing_again_updates_the_threshold(api: TestClient) -> None:
    first = _subscribe(api, eventType="CommitmentUsageCrossed", threshold=0.5)
    again = _subscribe(api, eventType="CommitmentUsageCrossed", threshold=1)
    assert again["id"] == first["id"] and again["threshold"] == 1
    assert api.get("/webhooks").json()["total"] == 1
    other_type = _subscribe(api, eventType="Overage")
    assert other_type["id"] != first["id"]


def test_bad_input_is_400(api: TestClient) -> None:
    cases = [
        ({"eventType": "Overage"}, "parameter_missing", "callbackUrl"),
        ({"callbackUrl": "https://e.com"}, "parameter_missing", "eventType"),
        ({"callbackUrl": "ftp://e.com/x", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "not a url", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "example.com/hook", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "https:///path", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "https://e.com:99999/", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "", "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "https://e.com/" + "a" * 3000, "eventType": "Overage"}, "validation_failed", "callbackUrl"),
        ({"callbackUrl": "https://e.com", "eventType": "Bogus"}, "validation_failed", "eventType"),
        ({"callbackUrl": "https://e.com", "eventType": "Overage", "threshold": 0}, "validation_failed", "threshold"),
        ({"callbackUrl": "https://e.com", "eventType": "Overage", "threshold": 1.01}, "validation_failed", "threshold"),
        ({"callbackUrl": "https://e.com", "eventType": "Overage", "threshold": -1}, "validation_failed", "threshold"),
        ({"callbackUrl": "https://e.com", "eventType": "Overage", "x": 1}, "validation_failed", "x"),
    ]
    for body, code, param in cases:
        resp = api.post("/webhook", json=body)
        assert resp.status_code == 400, (body, resp.text)
        got = resp.json()
        assert got["type"] == "invalid_request_error" and got["code"] == code and got["param"] == param, (body, got)
    bad_url = api.post("/webhook", json={"callbackUrl": "ftp://e.com/x", "eventType": "Overage"}).json()
    assert "http" in bad_url["message"]
    assert api.get("/webhooks/nope").status_code == 400
    assert api.get("/webhooks", params={"eventType": "Nope"}).status_code == 400
    assert api.get("/webhooks").json()["total"] == 0


def test_public_key_is_per_account_pem_and_stable(app: FastAPI, api: TestClient, db: Database) -> None:
    body = api.get("/webhooks/public-key").json()
    assert body["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    assert body["algorithm"] == "RSASSA-PKCS1-v1_5-SHA256" and body["signatureVersion"] == "v1"
    assert "PRIVATE" not in api.get("/webhooks/public-key").text
    pem = api.get("/webhooks/public-key", headers={"Accept": "application/x-pem-file"})
    assert pem.status_code == 200 and pem.headers["content-type"].startswith("application/x-pem-file")
    assert pem.text == body["publicKey"]
    assert api.get("/webhook/public-key").json() == body
    _subscribe(api)  # subscribing reuses the same key
    assert api.get("/webhooks/public-key").json()["publicKey"] == body["publicKey"]

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_public_key(body["publicKey"].encode())
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048

    other: Account = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get("/webhooks/public-key").json()["publicKey"] != body["publicKey"]


def test_other_tenants_webhooks_are_404(app: FastAPI, api: TestClient, db: Database) -> None:
    w = _subscribe(api)
    other: Account = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/webhooks/{w['id']}").status_code == 404
        assert c2.delete(f"/webhooks/{w['id']}").status_code == 404
        assert c2.get("/webhooks").json()["total"] == 0
    assert api.get(f"/webhooks/{w['id']}").status_code == 200
    assert api.post("/webhook", json={"callbackUrl": "https://e.com", "eventType": "Overage"}).status_code == 200
    assert TestClient(app).post("/webhook", json={}).status_code == 401
