"""Data for the dashboard's tests, set up through the real API (the `api` client shares the
live server's app and database): a customer with two metered products in force and events
over the last days, an issued invoice, credits. Instants are relative to now (the pages show
the current windows and the last 30/90 days)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient

from meterline.kit import jsonenc
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, post_json, send

D = Decimal
SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def midnight(days_ago: int = 0) -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=days_ago)


def month_start(months_ago: int = 0) -> datetime:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months_ago
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def get_json(api: TestClient, path: str, **params: Any) -> Any:
    """GET with decimals read exactly (JSON numbers as Decimal)."""
    resp = api.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return jsonenc.loads(resp.content)


def post_exact(api: TestClient, path: str, body: Any) -> Any:
    resp = post_json(api, path, body)
    assert resp.status_code == 200, resp.text
    return jsonenc.loads(resp.content)


@dataclass
class Metered:
    customer_id: str
    products: dict[str, str]  # name -> catalog product id
    meters: dict[str, dict[str, Any]]  # name -> meter wire


def metered_customer(api: TestClient, name: str = "Acme Corp") -> Metered:
    """Two products in force from a contract started 20 days ago (its monthly window holds the
    last 20 days and today): Tokens
    (Sum of data.value) and EU calls (Count of events whose data.region is eu); events on
    five of the last 12 days, two aliases, decimals; a credit grant."""
    cid = f.customer(api, name, aliases=["acme", "acme-eu"], externalId="crm-42")
    tokens = create_meter(api, operator="Sum", event_name="tokens")
    calls = create_meter(
        api,
        operator="Count",
        event_name="calls",
        filter={"conditions": [{"criterions": [{"field": "region", "operator": "Equals", "value": "eu"}]}]},
    )
    products = {
        "Tokens": f.product(api, name="Tokens", meter_id=tokens["id"]),
        "EU calls": f.product(api, name="EU calls", meter_id=calls["id"]),
    }
    f.contract(
        api,
        cid,
        name="Acme usage",
        startDate=z(midnight(20)),
        products=[f.usage_line(products["Tokens"], units=1000), f.usage_line(products["EU calls"], units=3)],
    )
    events = []
    for i, (days_ago, value) in enumerate([(0, D("1.25")), (1, D("300")), (3, D("0.1")), (8, D("12")), (11, D("7.5"))]):
        ts = z(midnight(days_ago) + timedelta(minutes=5))
        events.append(event(f"t{i}", ts=ts, name="tokens", alias="acme" if i % 2 else "acme-eu", value=value))
        events.append(event(f"c{i}", ts=ts, name="calls", alias="acme", region="eu" if i != 2 else "us"))
    send(api, events)
    f_grant(api, cid, "25.5")
    return Metered(cid, products, {"tokens": tokens, "calls": calls})


def f_grant(api: TestClient, customer_id: str, amount: str) -> None:
    post_exact(api, "/credits/grant", {"customerId": customer_id, "creditAmount": D(amount)})


def issued_invoice(api: TestClient, name: str = "Billed Ltd") -> tuple[str, str]:
    """A customer whose subscription contract started last month: (customer id, the id of
    last month's issued, unpaid invoice of 100, due in 60 days: PendingPayment whatever the date)."""
    cid = f.customer(api, name, dueDays="60_DAYS")
    line = {
        "displayName": "Platform fee",
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": SUB,
    }
    f.contract(api, cid, name="Subscription", startDate=z(month_start(1)), products=[line])
    invoices = get_json(api, "/invoices", customerId=cid, limit=100)["invoices"]
    issued = [i for i in invoices if i["billingStatus"] == "PendingPayment"]
    assert len(issued) == 1, invoices
    return cid, str(issued[0]["id"])


@contextmanager
def signed_in(base_url: str, api_key: str) -> Iterator[httpx.Client]:
    """An httpx client signed in to the dashboard (for checks that need no browser)."""
    with httpx.Client(base_url=base_url) as client:
        resp = client.post("/ui/sign-in", data={"key": api_key, "next": "/ui/overview"})
        assert resp.status_code == 303, resp.text
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)
