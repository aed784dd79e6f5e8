"""Measurements over HTTP and sum_for, on SQLite and PostgreSQL."""

from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.measurements.service import sum_for
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f


def us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


def _post(api: TestClient, cid: str, mid: str, day: tuple[int, int, int], value: object) -> dict[str, object]:
    y, m, d = day
    resp = api.post(
        "/measurements",
        json={"customerId": cid, "meterId": mid, "usageDate": {"year": y, "month": m, "day": d}, "value": value},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["measurement"]  # type: ignore[no-any-return]


def test_post_replaces_get_list_delete(api: TestClient, db: Database, account: Account) -> None:
    cid, mid = f.customer(api), f.meter(db, account.account_id)
    m = _post(api, cid, mid, (2026, 1, 31), 0.1)
    assert m["usageDate"] == {"year": 2026, "month": 1, "day": 31} and m["value"] == 0.1
    again = _post(api, cid, mid, (2026, 1, 31), 12.345)
    assert again["id"] == m["id"] and again["value"] == 12.345 and again["createdAt"] == m["createdAt"]
    assert api.get(f"/measurements/{m['id']}").json()["measurement"] == again
    _post(api, cid, mid, (2026, 2, 1), 1)
    listed = api.get("/measurements").json()
    assert listed["total"] == 2 and listed["hasMore"] is False and len(listed["measurements"]) == 2
    assert api.get("/measurements", params={"customerId": "1" * 24}).json()["total"] == 0
    assert api.get("/measurements", params={"meterId": mid}).json()["total"] == 2
    deleted = api.delete(f"/measurements/{m['id']}").json()["measurement"]
    assert deleted["id"] == m["id"] and deleted["deletedAt"].endswith("Z")
    assert api.get(f"/measurements/{m['id']}").status_code == 404
    assert api.get("/measurements").json()["total"] == 1


def test_bad_input_and_unknown_references(api: TestClient, app: FastAPI, db: Database, account: Account) -> None:
    cid, mid = f.customer(api), f.meter(db, account.account_id)
    base = {"customerId": cid, "meterId": mid, "usageDate": {"year": 2026, "month": 1, "day": 1}, "value": 1}
    cases = [
        ({"usageDate": {"year": 2026, "month": 0, "day": 1}}, "usageDate.month"),
        ({"usageDate": {"year": 2026, "month": 13, "day": 1}}, "usageDate.month"),
        ({"usageDate": {"year": 2026, "month": 2, "day": 30}}, "usageDate"),
        ({"usageDate": {"year": 2026, "month": 2}}, "usageDate.day"),
        ({"value": -1}, "value"),
        ({"value": "x"}, "value"),
        ({"meterId": "m"}, "meterId"),
    ]
    for change, param in cases:
        resp = api.post("/measurements", json=base | change)
        assert resp.status_code == 400 and resp.json()["param"] == param, (change, resp.text)
    assert api.post("/measurements", json=base | {"customerId": "0" * 24}).json()["param"] == "customerId"
    resp = api.post("/measurements", json=base | {"meterId": "0" * 24})
    assert resp.status_code == 404 and resp.json()["param"] == "meterId"
    m = api.post("/measurements", json=base).json()["measurement"]
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/measurements/{m['id']}").status_code == 404
        assert c2.delete(f"/measurements/{m['id']}").status_code == 404
        assert c2.post("/measurements", json=base).status_code == 404
        assert c2.get("/measurements").json()["total"] == 0


def test_sum_for_counts_days_whose_midnight_is_in_the_window(api: TestClient, db: Database, account: Account) -> None:
    cid, mid = f.customer(api), f.meter(db, account.account_id)
    other_meter = f.meter(db, account.account_id, name="other")
    for day, value in [((2026, 1, 31), "0.1"), ((2026, 2, 1), "0.2"), ((2026, 2, 27), 3), ((2026, 2, 28), 100)]:
        _post(api, cid, mid, day, float(value) if isinstance(value, str) else value)
    _post(api, cid, other_meter, (2026, 2, 1), 1000)
    with transaction(db, write=False) as conn:

        def total(start: str, end: str) -> Decimal:
            return sum_for(
                conn, account_id=account.account_id, customer_id=cid, meter_id=mid, start_us=us(start), end_us=us(end)
            )

        assert total("2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z") == Decimal("3.3")
        assert total("2026-01-31T00:00:01Z", "2026-02-28T00:00:01Z") == Decimal("103.2")
        assert total("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z") == 0
