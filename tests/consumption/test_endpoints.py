"""Products consumptions over HTTP, on SQLite and PostgreSQL (events, measurements, contracts, credits)."""

from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, send

AT = "2026-03-15T12:00:00Z"


def _consumptions(api: TestClient, customer_id: str, at: str = AT) -> list[dict[str, Any]]:
    resp = api.get(f"/customers/products-consumptions/{customer_id}", params={"at": at})
    assert resp.status_code == 200, resp.text
    return resp.json()["productsConsumptions"]  # type: ignore[no-any-return]


def test_provisioned_against_events_and_measurements(api: TestClient) -> None:
    cid = f.customer(api, aliases=["acme", "acme-eu"])
    meter = create_meter(api, operator="Sum", event_name="tokens")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    f.contract(api, cid, startDate="2026-01-31T00:00:00Z", products=[f.usage_line(pid, units=1000)])
    send(
        api,
        [
            event("old", ts="2026-02-27T23:59:59Z", name="tokens", value=500),  # previous window
            event("a", ts="2026-02-28T00:00:00Z", name="tokens", value=Decimal("0.1")),
            event("b", ts="2026-03-10T00:00:00Z", name="tokens", alias="acme-eu", value=Decimal("0.2")),
            event("late", ts="2026-03-15T12:00:00Z", name="tokens", value=1000),  # at t: not yet
            event("other", ts="2026-03-10T00:00:00Z", name="tokens", alias="someone", value=7),
        ],
    )
    api.post(
        "/measurements",
        json={
            "customerId": cid,
            "meterId": meter["id"],
            "usageDate": {"year": 2026, "month": 3, "day": 1},
            "value": 249.7,
        },
    )
    api.post(
        "/measurements",
        json={
            "customerId": cid,
            "meterId": meter["id"],
            "usageDate": {"year": 2026, "month": 3, "day": 16},
            "value": 5,
        },
    )
    [entry] = _consumptions(api, cid)
    assert entry == {
        "productId": pid,
        "productName": "Tokens",
        "provisionedAmount": 1000,
        "consumedAmount": 250,
        "usagePercentage": 25,
        "hasAccess": True,
        "remainingAmount": 750,
        "exceededAmount": 0,
        # The window the figure covers (extension): the line's monthly window holding AT.
        "windowStart": "2026-02-28T00:00:00.000Z",
        "windowEnd": "2026-03-31T00:00:00.000Z",
    }
    by_alias = api.get("/customers/products-consumptions/alias/acme-eu", params={"at": AT}).json()
    assert by_alias["productsConsumptions"] == [entry]
    one = api.get(f"/product-consumption/{pid}", params={"customerId": cid, "at": AT}).json()["productConsumption"]
    assert one == entry
    total = api.get(f"/product-consumption/{pid}", params={"at": AT}).json()["productConsumption"]
    figures = (total["consumedAmount"], total["windowStart"], total["windowEnd"])
    assert figures == (250, entry["windowStart"], entry["windowEnd"])
    b = f.customer(api, "B", aliases=["b"])
    f.contract(api, b, startDate="2026-03-05T00:00:00Z", products=[f.usage_line(pid)])
    total = api.get(f"/product-consumption/{pid}", params={"at": AT}).json()["productConsumption"]
    # The account-wide total spans its customers' windows: earliest start, latest end.
    assert (total["windowStart"], total["windowEnd"]) == ("2026-02-28T00:00:00.000Z", "2026-04-05T00:00:00.000Z")


def test_block_top_up_merge_and_account_wide(api: TestClient) -> None:
    a = f.customer(api, "A", aliases=["a"])
    b = f.customer(api, "B", aliases=["b"])
    meter = create_meter(api, operator="Count", event_name="call")
    pid = f.product(api, name="Calls", meter_id=meter["id"])
    f.contract(api, a, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=2, strategy="BLOCK")])
    f.contract(api, a, startDate="2026-03-05T00:00:00Z", products=[f.usage_line(pid, units=1, strategy="BLOCK")])
    f.contract(api, b, startDate="2026-03-01T00:00:00Z", products=[f.usage_line(pid, units=3, strategy="TOP_UP")])
    send(api, [event(f"a{i}", ts="2026-03-06T00:00:00Z", name="call", alias="a") for i in range(3)])
    send(api, [event(f"b{i}", ts="2026-03-06T00:00:00Z", name="call", alias="b") for i in range(4)])
    # A: two lines merge (2 + 1), window of the later contract [Mar 5, Apr 5): 3 calls, BLOCK -> no access
    [ea] = _consumptions(api, a)
    assert (ea["provisionedAmount"], ea["consumedAmount"], ea["hasAccess"], ea["usagePercentage"]) == (3, 3, False, 100)
    # B: TOP_UP with no credits -> no access; with credits -> access
    [eb] = _consumptions(api, b)
    assert (eb["consumedAmount"], eb["exceededAmount"], eb["hasAccess"], eb["usagePercentage"]) == (4, 1, False, 133.33)
    api.post("/credits/grant", json={"customerId": b, "creditAmount": 1})
    assert _consumptions(api, b)[0]["hasAccess"] is True
    total = api.get(f"/product-consumption/{pid}", params={"at": AT}).json()["productConsumption"]
    assert (total["provisionedAmount"], total["consumedAmount"], total["hasAccess"]) == (6, 7, True)
    assert (total["exceededAmount"], total["remainingAmount"], total["usagePercentage"]) == (1, 0, 116.67)


def test_no_lines_unknown_and_tenancy(api: TestClient, app: FastAPI, db: Database, account: Account) -> None:
    cid = f.customer(api)
    assert _consumptions(api, cid) == []
    no_meter = f.product(api, name="Support")
    f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(no_meter)])
    assert _consumptions(api, cid) == []
    assert api.get("/customers/products-consumptions/" + "0" * 24).status_code == 404
    assert api.get("/customers/products-consumptions/xyz").json()["param"] == "customerId"
    assert api.get("/customers/products-consumptions/alias/nobody").status_code == 404
    assert api.get(f"/customers/products-consumptions/{cid}", params={"at": "bad"}).json()["param"] == "at"
    assert api.get("/product-consumption/" + "0" * 24).status_code == 404
    resp = api.get(f"/product-consumption/{no_meter}", params={"customerId": cid})
    assert resp.status_code == 404
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.get(f"/customers/products-consumptions/{cid}").status_code == 404
        assert c2.get(f"/product-consumption/{no_meter}").status_code == 404


def test_measurements_only_for_count_and_sum_and_time_travel(api: TestClient) -> None:
    cid = f.customer(api, aliases=["c"])
    peak = create_meter(api, operator="Max", event_name="gpu")
    pid = f.product(api, name="GPUs", meter_id=peak["id"])
    f.contract(api, cid, startDate="2026-03-01T00:00:00Z", products=[f.usage_line(pid, units=10, strategy="IGNORE")])
    send(api, [event("g1", ts="2026-03-02T00:00:00Z", name="gpu", alias="c", value=4)])
    body = {"customerId": cid, "meterId": peak["id"], "usageDate": {"year": 2026, "month": 3, "day": 3}, "value": 100}
    assert api.post("/measurements", json=body).status_code == 200
    [entry] = _consumptions(api, cid)
    assert (entry["consumedAmount"], entry["hasAccess"], entry["usagePercentage"]) == (4, True, 40)
    assert _consumptions(api, cid, at="2026-02-28T23:59:59.999999+0000") == []
    # before the event, inside the window: nothing consumed yet
    [early] = _consumptions(api, cid, at="2026-03-01T12:00:00+0000")
    assert (early["consumedAmount"], early["remainingAmount"]) == (0, 10)
    api.delete(f"/meters/{peak['id']}")
    assert _consumptions(api, cid) == []


def test_measurements_of_several_products_each_in_its_own_window(api: TestClient) -> None:
    """Measurements of all products are read at once: each entry counts only its meter's, dated in its window."""
    cid = f.customer(api, aliases=["m"])
    calls = create_meter(api, operator="Count", event_name="calls")
    tokens = create_meter(api, operator="Sum", event_name="tokens")
    calls_pid = f.product(api, name="Calls", meter_id=calls["id"])
    tokens_pid = f.product(api, name="Tokens", meter_id=tokens["id"])
    # calls: monthly from Jan 1 -> window [Mar 1, Apr 1); tokens: monthly from Jan 10 -> [Mar 10, Apr 10)
    f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(calls_pid, units=100)])
    f.contract(api, cid, startDate="2026-01-10T00:00:00Z", products=[f.usage_line(tokens_pid, units=100)])
    send(api, [event("c1", ts="2026-03-05T00:00:00Z", name="calls", alias="m")])
    send(api, [event("t1", ts="2026-03-12T00:00:00Z", name="tokens", alias="m", value=Decimal("0.5"))])
    for meter_id, day, value in (
        (calls["id"], 1, 2),  # in the calls window
        (calls["id"], 15, 3),  # in both windows, calls only
        (tokens["id"], 5, 7),  # before the tokens window
        (tokens["id"], 10, Decimal("1.25")),  # first day of the tokens window
        (tokens["id"], 16, 11),  # after at
    ):
        body = {
            "customerId": cid,
            "meterId": meter_id,
            "usageDate": {"year": 2026, "month": 3, "day": day},
            "value": float(value),
        }
        assert api.post("/measurements", json=body).status_code == 200, body
    by_name = {e["productName"]: e["consumedAmount"] for e in _consumptions(api, cid)}
    assert by_name == {"Calls": 1 + 2 + 3, "Tokens": 1.75}
