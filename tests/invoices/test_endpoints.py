"""Invoices over HTTP, on SQLite and PostgreSQL: drafts, issuing, credits, filters, errors."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from meterline.invoices.job import close_until
from meterline.kit.times import to_us
from tests.conftest import login, make_account
from tests.invoices.api import contract, customer, grant, invoices, ledger, product_line

D = Decimal
SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}
SETUP = {"type": "ONE_TIME", "price": 50}


def test_past_contract_is_issued_cycle_by_cycle(api: TestClient) -> None:
    cid = customer(api)
    kid = contract(
        api,
        cid,
        product_line(SUB, "Platform"),
        product_line(SETUP, "Setup"),
        start="2025-01-01T00:00:00Z",
        end="2025-04-01T00:00:00Z",
    )
    got = invoices(api, customerId=cid)
    assert [(i["billingCycle"]["startTime"], i["billingCycle"]["endTime"]) for i in got] == [
        ("2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z"),
        ("2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"),
        ("2025-03-01T00:00:00.000Z", "2025-04-01T00:00:00.000Z"),
    ]
    first = got[0]
    assert first["contractId"] == kid and first["customerId"] == cid
    assert first["revenueBreakdown"] == {
        "total": 150,
        "subtotal": 150,
        "overage": 0,
        "discount": 0,
        "creditsUsed": 0,
        "tax": 0,
    }
    assert first["amount"] == 150
    assert [li["revenueBreakdown"]["subtotal"] for li in first["lineItems"]] == [100, 50]
    assert all(li["invoiceId"] == first["id"] for li in first["lineItems"])
    assert [i["amount"] for i in got] == [150, 100, 100]
    # long past due
    assert {i["billingStatus"] for i in got} == {"Overdue"}
    assert first["dueDate"] == "2025-03-03T00:00:00.000Z"  # Feb 1 + 30 days
    assert api.get(f"/invoices/{first['id']}").json()["invoice"] == first
    status = api.get(f"/invoices/{first['id']}/payment-status").json()
    assert status == {
        "invoiceId": first["id"],
        "billingStatus": "Overdue",
        "amountDue": 150,
        "amountPaid": 0,
        "total": 150,
        "dueDate": "2025-03-03T00:00:00.000Z",
    }


def test_open_cycle_is_a_draft(api: TestClient) -> None:
    now = datetime.now(UTC)
    start = datetime(now.year - 1, now.month, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    cid = customer(api)
    contract(api, cid, product_line(SUB), start=start)
    got = invoices(api, customerId=cid)
    assert len(got) == 13
    draft = got[-1]
    # a draft is due like an issued invoice: its cycle end + the customer's dueDays (30)
    cycle_end = datetime.fromisoformat(draft["billingCycle"]["endTime"].replace("Z", "+00:00"))
    assert draft["billingStatus"] == "None" and draft["dueDate"] == (cycle_end + timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert draft["billingCycle"]["startTime"] == datetime(now.year, now.month, 1, tzinfo=UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert draft["amount"] == 100
    last_due = datetime.fromisoformat(got[-2]["dueDate"].replace("Z", "+00:00"))
    assert got[-2]["billingStatus"] == ("PendingPayment" if now <= last_due else "Overdue")
    assert {i["billingStatus"] for i in got[:-2]} == {"Overdue"}
    assert invoices(api, customerId=cid, billingStatus="None") == [draft]
    assert len(invoices(api, customerId=cid, billingStatus="Overdue")) in (11, 12)
    # the same draft (same id) on every read
    assert invoices(api, customerId=cid)[-1]["id"] == draft["id"]


def test_credits_are_used_once_in_date_order(api: TestClient) -> None:
    cid = customer(api)
    grant(api, cid, "180")
    contract(api, cid, product_line(SUB), product_line(SETUP), start="2025-01-01T00:00:00Z", end="2025-04-01T00:00:00Z")
    got = invoices(api, customerId=cid)
    assert [(i["revenueBreakdown"]["creditsUsed"], i["amount"]) for i in got] == [(150, 0), (30, 70), (0, 100)]
    book = ledger(api, cid)
    deducts = [e for e in book["entries"] if e["type"] == "Deduct"]
    assert [(e["amount"], e.get("invoiceId")) for e in deducts] == [(150, got[0]["id"]), (30, got[1]["id"])]
    assert book["balance"] == 0
    # issued invoices are frozen: new credits change nothing, reads deduct nothing more
    grant(api, cid, "500")
    assert invoices(api, customerId=cid) == got
    assert len([e for e in ledger(api, cid)["entries"] if e["type"] == "Deduct"]) == 2


def test_close_until_issues_idempotently(api: TestClient, db: Database, account: object) -> None:
    cid = customer(api)
    grant(api, cid, "30")
    contract(api, cid, product_line(SUB), start="2030-01-01T00:00:00Z", end="2030-06-01T00:00:00Z")
    assert invoices(api, customerId=cid) == []  # not started yet
    until = to_us(datetime(2030, 3, 1, tzinfo=UTC))
    first = close_until(db, until=until)
    assert [(i.cycle.index, i.amounts.total) for i in first] == [(0, D("70.00")), (1, D("100.00"))]
    assert close_until(db, until=until) == []
    got = invoices(api, customerId=cid)
    assert [i["billingStatus"] for i in got] == ["PendingPayment", "PendingPayment"]
    assert got[0]["revenueBreakdown"]["creditsUsed"] == 30
    assert len([e for e in ledger(api, cid)["entries"] if e["type"] == "Deduct"]) == 1


def test_filters_and_pagination(api: TestClient) -> None:
    a, b = customer(api, "A"), customer(api, "B")
    contract(api, a, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-04-01T00:00:00Z")
    contract(api, b, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-03-01T00:00:00Z")
    assert len(invoices(api)) == 5
    assert len(invoices(api, customerId=b)) == 2
    got = invoices(api, issuedAtFrom="2025-02-01T00:00:00.000000+0000", issuedAtTo="2025-03-01T00:00:00.000000+0000")
    assert sorted(i["billingCycle"]["endTime"][:10] for i in got) == [
        "2025-02-01",
        "2025-02-01",
        "2025-03-01",
        "2025-03-01",
    ]
    page = api.get("/invoices", params={"limit": 2}).json()
    assert page["total"] == 5 and page["hasMore"] is True and len(page["invoices"]) == 2
    rest = api.get("/invoices", params={"limit": 10, "cursor": page["nextCursor"]}).json()
    assert len(rest["invoices"]) == 3 and rest["hasMore"] is False and "nextCursor" not in rest
    assert api.get("/invoices", params={"billingStatus": "Paid"}).json()["invoices"] == []


def test_errors_and_tenancy(api: TestClient, app: FastAPI, db: Database) -> None:
    cid = customer(api)
    contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-02-01T00:00:00Z")
    inv = invoices(api)[0]
    bad = api.get("/invoices/not-an-id")
    assert bad.status_code == 400 and bad.json()["param"] == "invoiceId"
    assert api.get("/invoices/" + "0" * 24).status_code == 404
    resp = api.get("/invoices", params={"billingStatus": "Unknown"})
    assert resp.status_code == 400 and resp.json()["param"] == "billingStatus"
    resp = api.get("/invoices", params={"issuedAtFrom": "yesterday"})
    assert resp.status_code == 400 and resp.json()["param"] == "issuedAtFrom"
    assert api.get("/invoices", params={"customerId": "0" * 24}).status_code == 404
    other = make_account(db, "other")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, other.api_key)}"
        assert c.get(f"/invoices/{inv['id']}").status_code == 404
        assert c.get(f"/invoices/{inv['id']}/payment-status").status_code == 404
        assert c.get("/invoices").json()["invoices"] == []


def test_termination_ends_the_last_cycle(api: TestClient) -> None:
    cid = customer(api)
    kid = contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z")
    resp = api.post(f"/contracts/{kid}/terminate", json={"terminationDate": "2025-02-15T00:00:00Z"})
    assert resp.status_code == 200, resp.text
    got = invoices(api, customerId=cid)
    assert [(i["billingCycle"]["endTime"], i["amount"]) for i in got] == [
        ("2025-02-01T00:00:00.000Z", 100),
        ("2025-02-15T00:00:00.000Z", 100),
    ]


def test_deleted_customer_is_billed_without_credits(api: TestClient) -> None:
    cid = customer(api)
    grant(api, cid, "500")
    contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-02-01T00:00:00Z")
    assert api.delete(f"/customers/{cid}").status_code == 200
    got = invoices(api)
    assert [(i["customerId"], i["amount"], i["revenueBreakdown"]["creditsUsed"]) for i in got] == [(cid, 100, 0)]
