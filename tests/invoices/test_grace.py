"""The invoice grace period (METERLINE_INVOICE_GRACE_SECONDS), over HTTP and through the
job's round with explicit instants, on SQLite and PostgreSQL (docs/semantics.md
"Invoice grace period")."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database
from meterline.invoices.job import close_until, run_round
from meterline.kit.times import now_us, parse_instant, to_us
from tests.conftest import Account, login
from tests.invoices.api import contract, customer, invoices, product_line
from tests.metering.factories import create_meter, event, send

HOUR = 3_600_000_000
SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


@pytest.fixture
def graced(settings: Settings, db: Database, account: Account) -> Iterator[TestClient]:
    """A client of an app whose invoice grace is one hour (the default)."""
    app = create_app(settings.model_copy(update={"invoice_grace_seconds": 3600}), db=db)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        yield c


def _usage_contract(api: TestClient) -> str:
    cid = customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="api_call")
    resp = api.post("/catalogProducts", json={"name": "API", "meterId": meter["id"]})
    assert resp.status_code == 200, resp.text
    product_id = resp.json()["catalogProduct"]["id"]
    line = product_line({"type": "PER_UNIT", "price": 1}, "API calls", catalogProductId=product_id)
    contract(api, cid, line, start="2025-01-01T00:00:00Z", end="2025-03-01T00:00:00Z")
    return cid


def test_a_migrated_contract_waits_for_the_grace_and_bills_backfilled_events(graced: TestClient, db: Database) -> None:
    """Created now with a start in the past: its past cycles stay drafts for an hour after
    the contract's creation, so events backfilled meanwhile are billed."""
    created = now_us()
    cid = _usage_contract(graced)
    jan, feb = invoices(graced, customerId=cid)  # a read within the grace issues nothing
    assert {jan["billingStatus"], feb["billingStatus"]} == {"None"}
    assert jan["dueDate"] == "2025-03-03T00:00:00.000Z"  # a draft is due like the invoice it becomes
    send(graced, [event("b1", ts="2025-01-10T00:00:00Z", value=7), event("b2", ts="2025-02-10T00:00:00Z", value=5)])
    assert run_round(db, now=created + HOUR // 2, grace_us=HOUR) == (0, 0)
    assert invoices(graced, customerId=cid)[0]["amount"] == 7  # drafts follow usage
    assert run_round(db, now=created + HOUR + 5_000_000, grace_us=HOUR) == (2, 2)
    jan, feb = invoices(graced, customerId=cid)
    assert (jan["billingStatus"], jan["amount"], feb["amount"]) == ("Overdue", 7, 5)
    assert "unbilledUsage" not in jan  # the backfill was billed, not reported late


def test_a_cycle_is_issued_a_grace_after_it_ends(api: TestClient, db: Database) -> None:
    cid = customer(api)
    contract(api, cid, product_line(SUB), start="2030-01-01T00:00:00Z", end="2030-04-01T00:00:00Z")
    feb1 = _us("2030-02-01T00:00:00Z")
    assert run_round(db, now=feb1 + HOUR - 1, grace_us=HOUR) == (0, 0)
    assert run_round(db, now=feb1 + HOUR, grace_us=HOUR) == (1, 0)
    assert run_round(db, now=feb1 + HOUR, grace_us=HOUR) == (0, 0)
    # `invoices close --until T` is explicit: every cycle ending by T, no grace
    assert len(close_until(db, until=_us("2030-03-01T00:00:00Z"))) == 1


def test_grace_zero_issues_at_the_cycle_end(api: TestClient, db: Database) -> None:
    cid = customer(api)
    contract(api, cid, product_line(SUB), start="2030-01-01T00:00:00Z", end="2030-03-01T00:00:00Z")
    assert run_round(db, now=_us("2030-02-01T00:00:00Z"), grace_us=0) == (1, 0)
