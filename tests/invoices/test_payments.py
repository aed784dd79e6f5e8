"""Payments over HTTP on SQLite and PostgreSQL: recording, idempotency by reference, partial
payments adding up, Paid, refusals; InvoicePaymentStatusChanged delivered to a real
receiver for each payment and for an invoice turning Overdue (docs/semantics.md "Payments")."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi.models.invoice_payment_status_response import InvoicePaymentStatusResponse

from meterline.db.engine import Database
from meterline.invoices.job import run_round
from meterline.kit import jsonenc
from meterline.kit.times import now_us
from tests.conftest import Account, login, make_account
from tests.invoices.api import contract, customer, invoices, product_line
from tests.support import LiveServer
from tests.webhooks.support import Received, drive, receiver, verify

D = Decimal
SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def _z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _month_starts() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    this = datetime(now.year, now.month, 1, tzinfo=UTC)
    last = datetime(this.year - (this.month == 1), 12 if this.month == 1 else this.month - 1, 1, tzinfo=UTC)
    return last, this


def _pay(api: TestClient, invoice_id: str, amount: str, reference: str, **extra: Any) -> Any:
    body = {"amount": amount, "reference": reference, **extra}
    headers = {"Content-Type": "application/json"}
    return api.post(f"/invoices/{invoice_id}/payments", content=jsonenc.dumps(body), headers=headers)


def _data(got: list[Received], kind: str) -> list[dict[str, Any]]:
    return [jsonenc.loads(r.body)["data"] for r in got if r.json["type"] == kind]


def test_partial_payments_add_up_to_paid(api: TestClient, db: Database) -> None:
    last, _ = _month_starts()
    cid = customer(api)
    contract(api, cid, product_line(SUB), start=_z(last))  # last month issued, this month a draft
    issued, draft = invoices(api, customerId=cid)
    assert (issued["billingStatus"], draft["billingStatus"]) == ("PendingPayment", "None")
    assert issued["amountPaid"] == 0 and issued["amountDue"] == 100 and issued["paidAt"] is None
    with receiver() as rx:
        resp = api.post("/webhook", json={"callbackUrl": rx.url, "eventType": "InvoicePaymentStatusChanged"})
        assert resp.status_code == 200
        drive(db)
        rx.wait_for(1)  # the PingTest

        # a draft cannot be paid
        refused = _pay(api, draft["id"], "10", "early")
        assert refused.status_code == 400 and refused.json()["code"] == "invoice_not_issued", refused.text

        first = _pay(api, issued["id"], "40.50", "wire-1")
        assert first.status_code == 200, first.text
        body = jsonenc.loads(first.content)
        assert body["created"] is True and body["payment"]["amount"] == D("40.50")
        assert body["paymentStatus"]["amountPaid"] == D("40.50") and body["paymentStatus"]["amountDue"] == D("59.50")
        assert body["paymentStatus"]["billingStatus"] == "PendingPayment"

        # the same reference again: the same payment, nothing recorded twice
        again = jsonenc.loads(_pay(api, issued["id"], "40.50", "wire-1").content)
        assert again["created"] is False and again["payment"] == body["payment"]
        conflict = _pay(api, issued["id"], "41", "wire-1")
        assert conflict.status_code == 409 and conflict.json()["param"] == "reference"

        over = _pay(api, issued["id"], "59.51", "wire-2")
        assert over.status_code == 400 and over.json()["code"] == "overpayment"

        paid_at = _z(last + timedelta(days=40))
        second = _pay(api, issued["id"], "59.50", "wire-2", paidAt=paid_at)
        assert second.status_code == 200, second.text
        status = api.get(f"/invoices/{issued['id']}/payment-status").json()
        assert status["billingStatus"] == "Paid" and status["amountPaid"] == 100 and status["amountDue"] == 0
        # paidAt: the latest payment instant (the first one was recorded now, after paid_at)
        first_at = body["payment"]["paidAt"]
        assert status["paidAt"] == max(first_at, paid_at)
        got = api.get(f"/invoices/{issued['id']}").json()["invoice"]
        assert (got["billingStatus"], got["amountPaid"], got["amountDue"]) == ("Paid", 100, 0)
        assert got["paymentInfo"]["transactionId"] == "wire-2" and got["paymentInfo"]["amount"] == 59.5
        assert [i["id"] for i in invoices(api, customerId=cid, billingStatus="Paid")] == [issued["id"]]

        done = _pay(api, issued["id"], "0.01", "wire-3")
        assert done.status_code == 400 and done.json()["code"] == "overpayment"
        listed = api.get(f"/invoices/{issued['id']}/payments").json()
        assert [(p["reference"], p["amount"]) for p in listed["payments"]] == [("wire-1", 40.5), ("wire-2", 59.5)]
        assert listed["total"] == 2

        drive(db)
        got_rx = rx.wait_for(3)
        public_key = api.get("/webhooks/public-key").json()["publicKey"]
        for r in got_rx:
            verify(public_key, r)
        changes = sorted(_data(got_rx, "InvoicePaymentStatusChanged"), key=lambda d: d["amountPaid"])
        assert [(c["previousStatus"], c["billingStatus"], c["amountPaid"], c["amountDue"]) for c in changes] == [
            ("PendingPayment", "PendingPayment", D("40.50"), D("59.50")),
            ("PendingPayment", "Paid", D("100.00"), D("0.00")),
        ]
        assert changes[1]["trigger"] == "payment" and changes[1]["payment"]["reference"] == "wire-2"
        assert changes[1]["invoiceId"] == issued["id"] and changes[1]["customerId"] == cid
        drive(db)
        assert len(rx.received) == 3  # the replay and the refusals announced nothing


def test_bad_payments_are_refused(api: TestClient, app: FastAPI, db: Database) -> None:
    last, _ = _month_starts()
    cid = customer(api)
    contract(api, cid, product_line(SUB), start=_z(last))
    issued = invoices(api, customerId=cid)[0]
    for amount in ("0", "-5", "1.001", "abc", "NaN"):
        resp = _pay(api, issued["id"], amount, f"r-{amount}")
        assert resp.status_code == 400, (amount, resp.text)
        assert set(resp.json()) >= {"type", "code", "message"}
    assert _pay(api, issued["id"], "1", "").status_code == 400  # a reference is required
    no_ref = api.post(f"/invoices/{issued['id']}/payments", json={"amount": "1"})
    assert no_ref.status_code == 400
    future = _z(datetime.now(UTC) + timedelta(days=2))
    assert _pay(api, issued["id"], "1", "later", paidAt=future).json()["param"] == "paidAt"
    assert _pay(api, "0" * 24, "1", "x").status_code == 404
    assert api.get(f"/invoices/{'0' * 24}/payments").status_code == 404
    # another tenant sees nothing of it
    other = make_account(db, "other")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, other.api_key)}"
        assert c.post(f"/invoices/{issued['id']}/payments", json={"amount": 1, "reference": "x"}).status_code == 404
        assert c.get(f"/invoices/{issued['id']}/payments").status_code == 404
    assert api.get(f"/invoices/{issued['id']}/payments").json()["payments"] == []


def test_turning_overdue_is_announced_once(api: TestClient, db: Database) -> None:
    cid = customer(api)
    contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-03-01T00:00:00Z")
    with receiver() as rx:
        resp = api.post("/webhook", json={"callbackUrl": rx.url, "eventType": "InvoicePaymentStatusChanged"})
        assert resp.status_code == 200
        now = now_us()
        assert run_round(db, now=now, grace_us=0) == (2, 2)  # issued, then both past due
        assert run_round(db, now=now + 60_000_000, grace_us=0) == (0, 0)  # each invoice once
        jan, feb = invoices(api, customerId=cid)
        assert jan["billingStatus"] == "Overdue"
        partial = _pay(api, jan["id"], "30", "late-1")
        assert partial.status_code == 200
        drive(db)
        got = rx.wait_for(4)
        changes = _data(got, "InvoicePaymentStatusChanged")
        overdue = sorted((c for c in changes if c["trigger"] == "overdue"), key=lambda c: c["dueDate"])
        assert [(c["invoiceId"], c["previousStatus"], c["billingStatus"]) for c in overdue] == [
            (jan["id"], "PendingPayment", "Overdue"),
            (feb["id"], "PendingPayment", "Overdue"),
        ]
        assert overdue[0]["dueDate"] == "2025-03-03T00:00:00.000Z" and overdue[0]["payment"] is None
        [paid] = [c for c in changes if c["trigger"] == "payment"]
        assert (paid["previousStatus"], paid["billingStatus"], paid["amountDue"]) == ("Overdue", "Overdue", 70)


def test_concurrent_payments_never_overpay(api: TestClient, live_server: LiveServer, account: Account) -> None:
    """Requests racing over real HTTP (the server's thread pool, one transaction each):
    8 payments of 30 on 100.00 -> exactly 3 recorded; 4 racing copies of one reference ->
    one payment."""
    last, _ = _month_starts()
    cid = customer(api)
    contract(api, cid, product_line(SUB), start=_z(last))
    invoice_id = invoices(api, customerId=cid)[0]["id"]
    token = api.headers["Authorization"]

    def pay(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, headers={"Authorization": token}, timeout=60) as c:
            return c.post(f"/invoices/{invoice_id}/payments", json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(pay, [{"amount": 30, "reference": f"r{i}"} for i in range(8)]))
    assert sorted(r.status_code for r in answers) == [200] * 3 + [400] * 5
    assert {r.json()["code"] for r in answers if r.status_code == 400} == {"overpayment"}
    with ThreadPoolExecutor(4) as pool:
        same = list(pool.map(pay, [{"amount": 5, "reference": "same"}] * 4))
    assert [r.status_code for r in same] == [200] * 4
    assert sorted(r.json()["created"] for r in same) == [False, False, False, True]
    assert len({r.json()["payment"]["id"] for r in same}) == 1
    status = api.get(f"/invoices/{invoice_id}/payment-status")
    parsed = InvoicePaymentStatusResponse.from_json(status.text)  # the official client's model
    assert (parsed.amount_paid, parsed.amount_due, parsed.billing_status.value) == (95, 5, "PendingPayment")
