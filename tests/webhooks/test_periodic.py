"""UpcomingRenewal, UnchargedEvents and MonthEndReport (webhooks.periodic), driven with
explicit instants and delivered to a real receiver, on SQLite and PostgreSQL: the worked
examples of docs/semantics.md "Notifications beyond Overage"."""

from typing import Any

from fastapi.testclient import TestClient

from meterline.db.engine import Database
from meterline.invoices.job import close_until
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.webhooks import periodic
from tests.contracts import factories as f
from tests.invoices.api import contract, product_line
from tests.metering.factories import create_meter, event, send
from tests.webhooks.support import drive, receiver, verify

SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


def _subscribe(api: TestClient, url: str, kind: str) -> None:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": kind})
    assert resp.status_code == 200, resp.text


def _delivered(api: TestClient, db: Database, rx: Any, count: int) -> list[dict[str, Any]]:
    drive(db)
    got = rx.wait_for(count)
    public_key = api.get("/webhooks/public-key").json()["publicKey"]
    for g in got:
        verify(public_key, g)
    return [jsonenc.loads(g.body) for g in got if g.json["type"] != "PingTest"]


def test_upcoming_renewal_once_per_contract_and_end(api: TestClient, db: Database) -> None:
    a = f.customer(api, "A")
    ending = contract(api, a, product_line(SUB), start="2026-01-01T00:00:00Z", end="2026-12-31T00:00:00Z", name="Y")
    contract(api, a, product_line(SUB), start="2026-01-01T00:00:00Z")  # no end: never renews
    cut = contract(api, a, product_line(SUB), start="2026-01-01T00:00:00Z", end="2026-12-20T00:00:00Z")
    assert api.post(f"/contracts/{cut}/terminate", json={}).status_code == 200  # terminated: no notice
    with receiver() as rx:
        _subscribe(api, rx.url, "UpcomingRenewal")
        assert periodic.scan_all(db, at_us=_us("2026-11-30T23:59:59Z"), renewal_days=30) == 0
        assert periodic.scan_all(db, at_us=_us("2026-12-01T00:00:00Z"), renewal_days=30) == 1
        assert periodic.scan_all(db, at_us=_us("2026-12-15T00:00:00Z"), renewal_days=30) == 0  # once
        [body] = _delivered(api, db, rx, 2)
    assert body["type"] == "UpcomingRenewal"
    assert body["data"] == {
        "contractId": ending,
        "customerId": a,
        "contractName": "Y",
        "startDate": "2026-01-01T00:00:00.000Z",
        "endDate": "2026-12-31T00:00:00.000Z",
        "noticeDays": 30,
        "daysLeft": 30,
    }


def test_uncharged_events_one_summary_per_day(api: TestClient, db: Database) -> None:
    create_meter(api, operator="Count", event_name="call")
    gpu = {"conditions": [{"criterions": [{"field": "kind", "operator": "Equals", "value": "gpu"}]}]}
    create_meter(api, operator="Count", event_name="job", filter=gpu)
    f.customer(api, "A", aliases=["a"])
    day = "2026-03-10T12:00:00Z"
    send(
        api,
        [
            *(event(f"c{i}", ts=day, name="call", alias="a") for i in range(3)),  # counted
            *(event(f"g{i}", ts=day, name="call", alias="ghost") for i in range(2)),  # no customer
            *(event(f"p{i}", ts=day, name="ping", alias="a") for i in range(4)),  # no meter
            event("j0", ts=day, name="job", alias="a", kind="gpu"),  # counted
            *(event(f"j{i}", ts=day, name="job", alias="a", kind="cpu") for i in (1, 2)),  # filtered out
            event("next", ts="2026-03-11T00:00:00Z", name="ping", alias="a"),  # the next day
        ],
    )
    with receiver() as rx:
        _subscribe(api, rx.url, "UnchargedEvents")
        at = _us("2026-03-11T05:00:00Z")
        assert periodic.scan_all(db, at_us=at, renewal_days=30) == 1
        assert periodic.scan_all(db, at_us=at + 3_600_000_000, renewal_days=30) == 0  # once per day
        assert periodic.scan_all(db, at_us=_us("2026-03-10T05:00:00Z"), renewal_days=30) == 0  # an empty day
        [body] = _delivered(api, db, rx, 2)
    assert body["data"] == {
        "day": "2026-03-10",
        "unchargedEvents": 8,
        "byEventName": [
            {"eventName": "call", "count": 2, "noMeter": 0, "noCustomer": 2, "filteredOut": 0},
            {"eventName": "job", "count": 2, "noMeter": 0, "noCustomer": 0, "filteredOut": 2},
            {"eventName": "ping", "count": 4, "noMeter": 4, "noCustomer": 0, "filteredOut": 0},
        ],
    }


def test_month_end_report_per_customer(api: TestClient, db: Database) -> None:
    meter = create_meter(api, operator="Count", event_name="call")
    pid = f.product(api, name="Calls", meter_id=meter["id"])
    a = f.customer(api, "A", aliases=["a"])
    b = f.customer(api, "B", aliases=["b"])
    calls = product_line({"type": "PER_UNIT", "price": 1}, "Calls", catalogProductId=pid)
    ca = contract(api, a, product_line(SUB, "Platform"), calls, start="2026-01-15T00:00:00Z")
    contract(api, b, product_line(SUB), start="2026-01-01T00:00:00Z", end="2026-02-01T00:00:00Z")  # ended
    send(
        api,
        [
            *(event(f"f{i}", ts="2026-02-10T00:00:00Z", name="call", alias="a") for i in range(5)),
            event("m0", ts="2026-03-01T00:00:00Z", name="call", alias="a"),  # March
        ],
    )
    close_until(db, until=_us("2026-03-01T00:00:00Z"))
    with receiver() as rx:
        _subscribe(api, rx.url, "MonthEndReport")
        at = _us("2026-03-01T01:00:00Z")
        assert periodic.scan_all(db, at_us=at, renewal_days=30) == 1  # A only: B's contract ended Feb 1
        assert periodic.scan_all(db, at_us=at, renewal_days=30) == 0
        [body] = _delivered(api, db, rx, 2)
    invoices = api.get("/invoices", params={"customerId": a}).json()["invoices"]
    first = invoices[0]  # [Jan 15, Feb 1), issued Feb 1; the February cycle is issued Mar 1
    assert body["data"] == {
        "customerId": a,
        "customerName": "A",
        "month": "2026-02",
        "period": {"startTime": "2026-02-01T00:00:00.000Z", "endTime": "2026-03-01T00:00:00.000Z"},
        "products": [{"productId": pid, "productName": "Calls", "consumedAmount": 5}],
        "invoices": [
            {
                "invoiceId": first["id"],
                "contractId": ca,
                "billingCycle": {"startTime": "2026-01-15T00:00:00.000Z", "endTime": "2026-02-01T00:00:00.000Z"},
                "amount": first["amount"],
                "dueDate": "2026-03-03T00:00:00.000Z",
                "billingStatus": "PendingPayment",  # as of the report (Overdue by now)
            }
        ],
    }
