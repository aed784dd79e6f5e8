"""Catalog products over HTTP, on SQLite and PostgreSQL."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f


def test_create_get_update_delete(api: TestClient, db: Database, account: Account) -> None:
    meter_id = f.meter(db, account.account_id)
    resp = api.post(
        "/catalogProducts", json={"name": "API", "description": "calls", "externalId": "p-1", "meterId": meter_id}
    )
    assert resp.status_code == 200, resp.text
    p = resp.json()["catalogProduct"]
    assert p["name"] == "API" and p["description"] == "calls" and p["externalId"] == "p-1"
    assert p["meterId"] == meter_id and len(p["id"]) == 24 and p["createdAt"].endswith("Z")
    assert api.get(f"/catalogProducts/{p['id']}").json()["catalogProduct"] == p
    assert api.get(f"/catalogProducts/{p['id'].upper()}").json()["catalogProduct"] == p

    upd = api.put(f"/catalogProducts/{p['id']}", json={"name": "API v2", "description": None}).json()
    assert upd["catalogProduct"]["name"] == "API v2" and upd["catalogProduct"]["description"] == "calls"
    assert upd["catalogProduct"]["meterId"] == meter_id

    deleted = api.delete(f"/catalogProducts/{p['id']}").json()["catalogProduct"]
    assert deleted["id"] == p["id"] and deleted["deletedAt"].endswith("Z")
    assert api.get(f"/catalogProducts/{p['id']}").status_code == 404
    assert api.delete(f"/catalogProducts/{p['id']}").status_code == 404
    assert api.get("/catalogProducts").json() == {"catalogProducts": [], "total": 0, "hasMore": False}


def test_meter_id_is_checked(api: TestClient, app: FastAPI, db: Database, account: Account) -> None:
    resp = api.post("/catalogProducts", json={"name": "x", "meterId": "nope"})
    assert resp.status_code == 400 and resp.json()["param"] == "meterId", resp.text
    resp = api.post("/catalogProducts", json={"name": "x", "meterId": "0" * 24})
    assert resp.status_code == 404 and resp.json()["param"] == "meterId", resp.text
    other = make_account(db, "other")
    foreign_meter = f.meter(db, other.account_id)
    assert api.post("/catalogProducts", json={"name": "x", "meterId": foreign_meter}).status_code == 404
    pid = f.product(api)
    assert api.put(f"/catalogProducts/{pid}", json={"meterId": foreign_meter}).status_code == 404
    mine = f.meter(db, account.account_id)
    assert (
        api.put(f"/catalogProducts/{pid}", json={"meterId": mine.upper()}).json()["catalogProduct"]["meterId"] == mine
    )
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/catalogProducts/{pid}").status_code == 404
        assert c2.put(f"/catalogProducts/{pid}", json={"name": "z"}).status_code == 404
        assert c2.delete(f"/catalogProducts/{pid}").status_code == 404
        assert c2.get("/catalogProducts").json()["total"] == 0


def test_bad_input(api: TestClient) -> None:
    for body, param in [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "price": 1}, "price")]:
        resp = api.post("/catalogProducts", json=body)
        assert resp.status_code == 400 and resp.json()["param"] == param, resp.text
    assert api.get("/catalogProducts/xyz").json()["param"] == "catalogProductId"
    assert api.put("/catalogProducts/" + "0" * 24, json={"name": "x"}).status_code == 404


def test_list_paginates(api: TestClient) -> None:
    ids = [f.product(api, name=f"p{i}") for i in range(12)]
    page = api.get("/catalogProducts").json()
    assert [p["id"] for p in page["catalogProducts"]] == ids[:10]
    assert page["total"] == 12 and page["hasMore"] is True
    rest = api.get("/catalogProducts", params={"cursor": page["nextCursor"]}).json()
    assert [p["id"] for p in rest["catalogProducts"]] == ids[10:] and rest["hasMore"] is False
