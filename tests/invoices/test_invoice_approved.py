"""InvoiceApproved: one signed delivery per issued invoice, enqueued in the issuing transaction."""

from fastapi.testclient import TestClient

from meterline.db.engine import Database
from meterline.invoices.job import close_until
from meterline.kit.times import parse_instant, to_us
from tests.invoices.api import contract, customer, product_line
from tests.webhooks.support import drive, receiver, verify

SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def test_each_issued_invoice_is_announced_once(api: TestClient, db: Database) -> None:
    with receiver() as rx:
        assert api.post("/webhook", json={"callbackUrl": rx.url, "eventType": "InvoiceApproved"}).status_code == 200
        drive(db)
        rx.wait_for(1)  # the PingTest
        cid = customer(api)
        created = contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-03-01T00:00:00Z")
        until = to_us(parse_instant("2025-03-01T00:00:00Z", param="until"))
        close_until(db, until=until)
        close_until(db, until=until)  # idempotent: nothing issued, nothing announced twice
        drive(db)
        got = rx.wait_for(3)
        public_key = api.get("/webhooks/public-key").json()["publicKey"]
        approved = [r for r in got if r.json["type"] == "InvoiceApproved"]
        assert len(approved) == 2
        for r in approved:
            verify(public_key, r)
        # delivery order across notifications is not guaranteed (docs/semantics.md)
        first, second = sorted((r.json["data"] for r in approved), key=lambda d: d["billingCycle"]["startTime"])
        assert first["customerId"] == cid and first["contractId"] == created
        assert first["billingCycle"] == {"startTime": "2025-01-01T00:00:00.000Z", "endTime": "2025-02-01T00:00:00.000Z"}
        assert first["amount"] == 100 and second["amount"] == 100
        assert first["dueDate"] == "2025-03-03T00:00:00.000Z"
        ids = [i["id"] for i in api.get("/invoices", params={"customerId": cid}).json()["invoices"]]
        assert sorted([first["invoiceId"], second["invoiceId"]]) == sorted(ids)
        drive(db)
        assert len(rx.received) == 3
