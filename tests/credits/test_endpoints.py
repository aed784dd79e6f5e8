"""The credit ledger over HTTP and through the service, on SQLite and PostgreSQL."""

import threading
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.credits import service
from meterline.db.engine import Database, transaction
from meterline.kit.errors import BadRequest
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f


def _grant(api: TestClient, cid: str, amount: Any) -> Any:
    return api.post("/credits/grant", json={"customerId": cid, "creditAmount": amount})


def _deduct(api: TestClient, cid: str, amount: Any) -> Any:
    return api.post("/credits/deduct", json={"customerId": cid, "creditAmount": amount})


def test_grant_deduct_and_ledger(api: TestClient) -> None:
    cid = f.customer(api)
    first = _grant(api, cid, 0.1)
    assert first.status_code == 200, first.text
    assert '"balanceAfterEntry":0.1' in first.text and first.json()["entry"]["type"] == "Grant"
    _grant(api, cid, 0.2)
    resp = _deduct(api, cid, 0.3)
    assert resp.status_code == 200 and '"balanceAfterEntry":0' in resp.text and '"balance":0' in resp.text
    over = _deduct(api, cid, 0.01)
    assert over.status_code == 400 and over.json()["param"] == "creditAmount", over.text
    _grant(api, cid, 100)
    _deduct(api, cid, 33.33)
    ledger = api.get("/credits", params={"customerId": cid})
    assert ledger.status_code == 200
    body = ledger.json()
    assert [(e["type"], e["amount"], e["balanceAfterEntry"]) for e in body["entries"]] == [
        ("Grant", 0.1, 0.1),
        ("Grant", 0.2, 0.3),
        ("Deduct", 0.3, 0),
        ("Grant", 100, 100),
        ("Deduct", 33.33, 66.67),
    ]
    assert '"balanceAfterEntry":0.3,' in ledger.text and '"balance":66.67' in ledger.text
    assert body["total"] == 5 and body["hasMore"] is False
    for e in body["entries"]:
        assert len(e["id"]) == 24 and e["createdAt"].endswith("Z") and e["integrationEntities"] == []
    page = api.get("/credits", params={"customerId": cid, "limit": 2}).json()
    assert len(page["entries"]) == 2 and page["hasMore"] is True
    rest = api.get("/credits", params={"customerId": cid, "limit": 10, "cursor": page["nextCursor"]}).json()
    assert [e["id"] for e in page["entries"] + rest["entries"]] == [e["id"] for e in body["entries"]]


def test_bad_input_and_tenancy(api: TestClient, app: FastAPI, db: Database) -> None:
    cid = f.customer(api)
    for amount in (0, -1, "abc", None):
        resp = _grant(api, cid, amount)
        assert resp.status_code == 400 and resp.json()["param"] == "creditAmount", resp.text
    assert api.post("/credits/grant", json={"customerId": "x", "creditAmount": 1}).json()["param"] == "customerId"
    assert _grant(api, "0" * 24, 1).status_code == 404
    resp = api.get("/credits")
    assert resp.status_code == 400 and resp.json()["param"] == "customerId"
    assert api.get("/credits", params={"customerId": "0" * 24}).status_code == 404
    _grant(api, cid, 5)
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert _grant(c2, cid, 1).status_code == 404
        assert _deduct(c2, cid, 1).status_code == 404
        assert c2.get("/credits", params={"customerId": cid}).status_code == 404


def test_service_balance_and_deduct_for_invoices(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api)
    with transaction(db) as conn:
        assert service.balance(conn, account_id=account.account_id, customer_id=cid) == 0
        service.grant(conn, account_id=account.account_id, customer_id=cid, amount=Decimal("10.05"))
        entry = service.deduct(
            conn, account_id=account.account_id, customer_id=cid, amount=Decimal("4.05"), invoice_id="a" * 24
        )
        assert entry["invoiceId"] == "a" * 24 and entry["balanceAfterEntry"] == Decimal(6)
        assert service.balance(conn, account_id=account.account_id, customer_id=cid) == Decimal(6)
    ledger = api.get("/credits", params={"customerId": cid}).json()["entries"]
    assert ledger[-1]["invoiceId"] == "a" * 24 and ledger[-1]["type"] == "Deduct"


def test_concurrent_deducts_never_go_negative(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api)
    _grant(api, cid, 10)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def deduct() -> None:
        barrier.wait()
        try:
            with transaction(db) as conn:
                service.deduct(conn, account_id=account.account_id, customer_id=cid, amount=Decimal(3))
            result = "ok"
        except BadRequest:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=deduct) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok", "ok", "ok", "refused"]
    entries = api.get("/credits", params={"customerId": cid}).json()["entries"]
    assert [e["balanceAfterEntry"] for e in entries] == [10, 7, 4, 1]
