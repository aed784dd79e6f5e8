"""Customers over HTTP, on SQLite and PostgreSQL."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account


def _create(api: TestClient, **body: object) -> dict[str, object]:
    resp = api.post("/customers", json={"name": "Acme", **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["customer"]  # type: ignore[no-any-return]


def test_create_get_update_delete(api: TestClient) -> None:
    c = _create(
        api,
        aliases=["a1", "a2"],
        externalId="ext-1",
        dueDays="30_DAYS",
        currency="EUR",
        address={"city": "Paris", "addressText": "1 rue"},
        paidAmount=12.50,
    )
    assert len(str(c["id"])) == 24 and str(c["id"]) == str(c["id"]).lower()
    assert c["aliases"] == ["a1", "a2"] and c["currency"] == "EUR" and c["address"]["city"] == "Paris"  # type: ignore[index]
    assert api.get(f"/customers/{c['id']}").json()["customer"] == c
    assert api.get("/customers/externalId/ext-1").json()["customer"]["id"] == c["id"]
    assert api.get("/customers/name/Acme").json()["customer"]["id"] == c["id"]
    raw = api.get(f"/customers/{c['id']}").text
    assert '"paidAmount":12.5' in raw

    upd = api.put(f"/customers/{c['id']}", json={"name": "Acme 2", "aliases": None}).json()["customer"]
    assert upd["name"] == "Acme 2" and upd["aliases"] == ["a1", "a2"] and upd["externalId"] == "ext-1"
    upd = api.put(f"/customers/{c['id']}", json={"aliases": ["a3"]}).json()["customer"]
    assert upd["aliases"] == ["a3"] and upd["name"] == "Acme 2"

    deleted = api.delete(f"/customers/{c['id']}").json()["customer"]
    assert deleted["id"] == c["id"] and deleted["deletedAt"].endswith("Z")
    assert api.get(f"/customers/{c['id']}").status_code == 404
    assert api.get("/customers").json()["total"] == 0
    # the alias and externalId are free again
    _create(api, aliases=["a3"], externalId="ext-1")


def test_alias_and_external_id_are_unique(api: TestClient) -> None:
    first = _create(api, aliases=["shared"], externalId="e1")
    for body in ({"aliases": ["x", "shared"]}, {"externalId": "e1"}):
        resp = api.post("/customers", json={"name": "B", **body})
        assert resp.status_code == 409, resp.text
        assert resp.json()["type"] == "invalid_request_error"
        assert resp.json()["code"] == "resource_already_exists"
    other = _create(api, name="B", aliases=["b"])
    resp = api.put(f"/customers/{other['id']}", json={"aliases": ["shared"]})
    assert resp.status_code == 409
    assert api.put(f"/customers/{first['id']}", json={"aliases": ["shared", "more"]}).status_code == 200


def test_list_paginates_in_creation_order(api: TestClient) -> None:
    ids = [_create(api, name=f"c{i}")["id"] for i in range(25)]
    page = api.get("/customers").json()
    assert [c["id"] for c in page["customers"]] == ids[:10]
    assert page["total"] == 25 and page["hasMore"] is True
    seen = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.get("/customers", params=params).json()
        seen += [c["id"] for c in page["customers"]]
        if not page["hasMore"]:
            assert "nextCursor" not in page
            break
        cursor = page["nextCursor"]
        _create(api, name="concurrent insert")  # appended at the end, never shifts a page
    assert seen[:25] == ids and len(seen) == len(set(seen))


def test_bad_input_is_400_in_the_seed_shape(api: TestClient) -> None:
    cases = [
        ("post", "/customers", {"json": {}}, "parameter_missing", "name"),
        ("post", "/customers", {"json": {"name": ""}}, "validation_failed", "name"),
        ("post", "/customers", {"json": {"name": "x", "aliases": ["a", "a"]}}, "validation_failed", "aliases"),
        ("post", "/customers", {"json": {"name": "x", "dueDays": "7_DAYS"}}, "validation_failed", "dueDays"),
        ("post", "/customers", {"json": {"name": "x", "bogus": 1}}, "validation_failed", "bogus"),
        ("get", "/customers/not-an-id", {}, "parameter_invalid", "customerId"),
        ("get", "/customers?limit=0", {}, "parameter_invalid", "limit"),
        ("get", "/customers?limit=1001", {}, "parameter_invalid", "limit"),
        ("get", "/customers?cursor=@@@", {}, "parameter_invalid", "cursor"),
    ]
    for method, path, kwargs, code, param in cases:
        resp = getattr(api, method)(path, **kwargs)
        assert resp.status_code == 400, (path, kwargs, resp.text)
        body = resp.json()
        assert body["type"] == "invalid_request_error" and body["code"] == code, body
        assert body["param"] == param, body
    resp = api.post("/customers", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "bad_request"
    resp = api.post("/customers", content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    resp = api.post(
        "/customers", content=b'{"name": "x", "paidAmount": NaN}', headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    resp = api.post(
        "/customers",
        content=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 413 and resp.json()["code"] == "request_too_large"


def test_unknown_and_other_tenant_ids_are_404(app: FastAPI, api: TestClient, db: Database) -> None:
    c = _create(api, externalId="mine")
    assert api.get("/customers/" + "0" * 24).status_code == 404
    other: Account = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        for method, path in [
            ("get", f"/customers/{c['id']}"),
            ("put", f"/customers/{c['id']}"),
            ("delete", f"/customers/{c['id']}"),
            ("get", "/customers/externalId/mine"),
        ]:
            resp = getattr(c2, method)(path, **({"json": {"name": "z"}} if method == "put" else {}))
            assert resp.status_code == 404, (method, path)
            assert resp.json() == {
                "type": "invalid_request_error",
                "code": "resource_not_found",
                "message": resp.json()["message"],
            }
        assert c2.get("/customers").json()["total"] == 0
        # the same externalId is free in another account
        assert c2.post("/customers", json={"name": "o", "externalId": "mine", "aliases": ["x"]}).status_code == 200
    assert api.get(f"/customers/{c['id']}").status_code == 200


def test_relations_validate_and_isolate(app: FastAPI, api: TestClient, db: Database) -> None:
    a = _create(api, name="A", salesForceAccountId="SF-1")
    b = _create(api, name="B")
    body = {"vayuParentCustomerId": a["id"], "vayuChildCustomerId": b["id"]}
    rel = api.post("/customer-relations", json=body)
    assert rel.status_code == 200
    assert api.post("/customer-relations", json=body).status_code == 409
    self_rel = {"vayuParentCustomerId": a["id"], "vayuChildCustomerId": a["id"]}
    assert api.post("/customer-relations", json=self_rel).status_code == 400
    unknown = {"vayuParentCustomerId": a["id"], "vayuChildCustomerId": "0" * 24}
    assert api.post("/customer-relations", json=unknown).status_code == 404
    assert api.get("/customers/integration/Salesforce/SF-1").json()["customer"]["id"] == a["id"]
    assert api.get("/customers/integration/Salesforce/SF-2").status_code == 404
    assert api.get("/customers/integration/Nope/SF-1").status_code == 400
    for kind in ("Snowflake", "Connact", "Xero", "Hubspot", "Stripe", "Slack", "S3", "Morning", "Anrok"):
        resp = api.get(f"/customers/integration/{kind}/SF-1")
        assert resp.status_code == 404 and resp.json()["code"] == "resource_not_found", (kind, resp.text)
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/customer-relations/{rel.json()['customerRelation']['id']}").status_code == 404
        assert c2.get("/customers/integration/Salesforce/SF-1").status_code == 404
