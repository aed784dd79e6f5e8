"""Plans over HTTP, on SQLite and PostgreSQL."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import login, make_account
from tests.contracts import factories as f

BILLING = {"billingInterval": "Quarterly", "duration": -1, "paymentTerm": "Prepayment", "autoRenewal": False}


def test_create_get_list_delete(api: TestClient) -> None:
    pid = f.product(api)
    group = {"displayName": "g", "products": [f.usage_line(pid)], "commitment": {"units": 0.5}}
    resp = api.post(
        "/plans",
        json={
            "name": "Pro",
            "billingData": BILLING | {"proRated": True},
            "products": [f.usage_line(pid)],
            "productGroups": [group],
        },
    )
    assert resp.status_code == 200, resp.text
    plan = resp.json()["plan"]
    assert (
        plan["status"] == "Active" and plan["billingData"]["duration"] == -1 and plan["billingData"]["proRated"] is True
    )
    assert plan["products"][0]["catalogProductId"] == pid and plan["productGroups"][0]["commitment"] == {"units": 0.5}
    assert api.get(f"/plans/{plan['id']}").json()["plan"] == plan
    bare = api.post("/plans", json={"name": "Free", "status": "Inactive", "billingData": BILLING}).json()["plan"]
    assert bare["products"] == [] and bare["productGroups"] == [] and bare["status"] == "Inactive"
    listed = api.get("/plans").json()
    assert [p["id"] for p in listed["plans"]] == [plan["id"], bare["id"]] and listed["total"] == 2
    deleted = api.delete(f"/plans/{plan['id']}").json()["plan"]
    assert deleted["deletedAt"].endswith("Z") and deleted["id"] == plan["id"]
    assert api.get(f"/plans/{plan['id']}").status_code == 404
    assert api.get("/plans").json()["total"] == 1


def test_bad_plans(api: TestClient, app: FastAPI, db: Database) -> None:
    cases = [
        ({"billingData": BILLING}, "name"),
        ({"name": "x"}, "billingData"),
        ({"name": "x", "billingData": BILLING | {"duration": 0}}, "billingData.duration"),
        ({"name": "x", "billingData": BILLING | {"billingInterval": "Weekly"}}, "billingData.billingInterval"),
        ({"name": "x", "billingData": BILLING, "status": "Expired"}, "status"),
        (
            {"name": "x", "billingData": BILLING, "products": [f.usage_line(None, units=-2)]},
            "products[0].commitment.units",
        ),
    ]
    for body, param in cases:
        resp = api.post("/plans", json=body)
        assert resp.status_code == 400 and resp.json()["param"] == param, (body, resp.text)
    resp = api.post("/plans", json={"name": "x", "billingData": BILLING, "products": [f.usage_line("0" * 24)]})
    assert resp.status_code == 404 and resp.json()["param"] == "products[0].catalogProductId"
    assert api.get("/plans/zzz").json()["param"] == "planId"
    plan = api.post("/plans", json={"name": "x", "billingData": BILLING}).json()["plan"]
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/plans/{plan['id']}").status_code == 404
        assert c2.delete(f"/plans/{plan['id']}").status_code == 404
        assert c2.get("/plans").json()["total"] == 0
