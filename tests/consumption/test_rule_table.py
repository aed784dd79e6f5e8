"""Products consumption, rule by rule (SEMANTICS.md "Products consumptions"), over HTTP on
SQLite and PostgreSQL. Every expected figure is computed by hand in the comment beside it.

Common setup: customer with alias "acme", a Sum meter over data.value of event "tokens",
one catalog product P linked to it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, post_json, send


@dataclass
class World:
    api: TestClient
    customer_id: str
    meter_id: str
    product_id: str

    def contract(self, *, start: str = "2026-01-31T00:00:00Z", **body: Any) -> dict[str, Any]:
        body.setdefault("products", [f.usage_line(self.product_id, units=10)])
        return f.contract(self.api, self.customer_id, startDate=start, **body)

    def tokens(self, *values: tuple[str, str, Any], alias: str = "acme") -> None:
        send(self.api, [event(ref, ts=ts, alias=alias, name="tokens", value=v) for ref, ts, v in values])

    def consumption(self, at: str) -> list[dict[str, Any]]:
        resp = self.api.get(f"/customers/products-consumptions/{self.customer_id}", params={"at": at})
        assert resp.status_code == 200, resp.text
        return resp.json()["productsConsumptions"]  # type: ignore[no-any-return]

    def one(self, at: str) -> dict[str, Any]:
        [entry] = self.consumption(at)
        assert entry["productId"] == self.product_id
        return entry


@pytest.fixture
def world(api: TestClient) -> World:
    cid = f.customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="tokens")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    return World(api, cid, meter["id"], pid)


@dataclass
class Case:
    name: str
    setup: Callable[[World], None]
    at: str
    expected: dict[str, Any] | None  # None: no entry at all
    also: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)


def _figures(p: Any, c: Any, pct: Any, access: bool, rem: Any, exc: Any) -> dict[str, Any]:
    return {
        "provisionedAmount": p,
        "consumedAmount": c,
        "usagePercentage": pct,
        "hasAccess": access,
        "remainingAmount": rem,
        "exceededAmount": exc,
    }


def _reset_line(world: World, months: int) -> dict[str, Any]:
    line = f.usage_line(world.product_id, units=10)
    line["pricing"] = {"type": "PER_UNIT", "price": 1, "usageReset": months}
    return line


def _no_commitment(world: World) -> dict[str, Any]:
    line = f.usage_line(world.product_id)
    del line["commitment"]
    return line


CASES = [
    Case("no contract", lambda w: w.tokens(("a", "2026-03-01T00:00:00Z", 5)), "2026-03-15T00:00:00Z", None),
    Case(
        "not yet started",
        lambda w: w.contract(start="2026-04-01T00:00:00Z"),
        "2026-03-15T00:00:00Z",
        None,
        also=[("2026-04-01T00:00:00Z", _figures(10, 0, 0, True, 10, 0))],  # starts exactly at t
    ),
    Case(
        "ended",
        lambda w: w.contract(start="2026-01-01T00:00:00Z", endDate="2026-03-01T00:00:00Z"),
        "2026-03-01T00:00:00Z",  # endDate is exclusive
        None,
        also=[("2026-02-28T23:59:59Z", _figures(10, 0, 0, True, 10, 0))],
    ),
    # usageReset 1 from Jan 31: windows Jan 31, Feb 28, Mar 31 ... at Mar 15 -> [Feb 28, Mar 31).
    # Feb 27 (3) is in the previous window; Feb 28 00:00 (4) and Mar 15 (2) count: 6 of 10.
    # Just before Feb 28 the window is [Jan 31, Feb 28) and holds only the Feb 27 event: 3.
    Case(
        "usageReset 1 from the 31st",
        lambda w: (
            w.contract(products=[_reset_line(w, 1)]),
            w.tokens(
                ("a", "2026-02-27T23:59:59Z", 3), ("b", "2026-02-28T00:00:00Z", 4), ("c", "2026-03-15T00:00:00Z", 2)
            ),
        ),
        "2026-03-15T12:00:00Z",
        _figures(10, 6, 60, True, 4, 0),
        # at Mar 31 a new window starts: nothing consumed yet
        also=[
            ("2026-03-31T00:00:00Z", _figures(10, 0, 0, True, 10, 0)),
            ("2026-02-27T23:59:59.999999Z", _figures(10, 3, 30, True, 7, 0)),
        ],
    ),
    # usageReset 3 from Jan 31: [Jan 31, Apr 30): all three events count at Apr 29: 9.
    Case(
        "usageReset 3 from the 31st",
        lambda w: (
            w.contract(products=[_reset_line(w, 3)]),
            w.tokens(
                ("a", "2026-01-31T00:00:00Z", 3), ("b", "2026-02-28T00:00:00Z", 4), ("c", "2026-04-29T00:00:00Z", 2)
            ),
        ),
        "2026-04-29T12:00:00Z",
        _figures(10, 9, 90, True, 1, 0),  # BLOCK: 9 < 10, access
    ),
    # usageReset 12 from Jan 31 2025: second window [2026-01-31, 2027-01-31).
    Case(
        "usageReset 12 from the 31st",
        lambda w: (
            w.contract(start="2025-01-31T00:00:00Z", products=[_reset_line(w, 12)]),
            w.tokens(("a", "2026-01-30T23:00:00Z", 3), ("b", "2026-01-31T00:00:00Z", 4)),
        ),
        "2026-06-01T00:00:00Z",
        _figures(10, 4, 40, True, 6, 0),
    ),
    Case(
        "BLOCK below",
        lambda w: (w.contract(), w.tokens(("a", "2026-03-01T00:00:00Z", 9))),
        "2026-03-15T00:00:00Z",
        _figures(10, 9, 90, True, 1, 0),
    ),
    Case(
        "BLOCK at",
        lambda w: (w.contract(), w.tokens(("a", "2026-03-01T00:00:00Z", 10))),
        "2026-03-15T00:00:00Z",
        _figures(10, 10, 100, False, 0, 0),
    ),
    Case(
        "BLOCK above",
        lambda w: (w.contract(), w.tokens(("a", "2026-03-01T00:00:00Z", Decimal("10.5")))),
        "2026-03-15T00:00:00Z",
        _figures(10, Decimal("10.5"), 105, False, 0, Decimal("0.5")),
    ),
    Case(
        "TOP_UP over without credit",
        lambda w: (
            w.contract(products=[f.usage_line(w.product_id, units=10, strategy="TOP_UP")]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 12)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(10, 12, 120, False, 0, 2),
    ),
    Case(
        "TOP_UP over with credit",
        lambda w: (
            w.contract(products=[f.usage_line(w.product_id, units=10, strategy="TOP_UP")]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 12)),
            w.api.post("/credits/grant", json={"customerId": w.customer_id, "creditAmount": 5}),
        ),
        "2026-03-15T00:00:00Z",
        _figures(10, 12, 120, True, 0, 2),
    ),
    Case(
        "IGNORE over",
        lambda w: (
            w.contract(products=[f.usage_line(w.product_id, units=10, strategy="IGNORE")]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 15)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(10, 15, 150, True, 0, 5),
    ),
    Case(
        "UPGRADE_PLAN over",
        lambda w: (
            w.contract(products=[f.usage_line(w.product_id, units=10, strategy="UPGRADE_PLAN")]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 15)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(10, 15, 150, True, 0, 5),
    ),
    Case(
        "provisioned 0, nothing consumed",
        lambda w: w.contract(products=[_no_commitment(w)]),
        "2026-03-15T00:00:00Z",
        _figures(0, 0, 0, True, 0, 0),
    ),
    Case(
        "provisioned 0, something consumed",
        lambda w: (
            w.contract(products=[_no_commitment(w)]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 3)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(0, 3, 100, True, 0, 3),
    ),
    # Two contracts with a line of P: provisioned adds (10 + 5); the window is that of the
    # contract that started last (Mar 10, monthly): only the Mar 12 event (2) counts.
    Case(
        "two lines of one product",
        lambda w: (
            w.contract(start="2026-01-31T00:00:00Z"),
            w.contract(start="2026-03-10T00:00:00Z", products=[f.usage_line(w.product_id, units=5)]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 7), ("b", "2026-03-12T00:00:00Z", 2)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(15, 2, Decimal("13.33"), True, 13, 0),
    ),
    # usagePercentage rounds half-up to 2 decimals: 1/3 -> 33.33, 2/3 -> 66.67.
    Case(
        "percentage rounding",
        lambda w: (
            w.contract(products=[f.usage_line(w.product_id, units=3)]),
            w.tokens(("a", "2026-03-01T00:00:00Z", 2)),
        ),
        "2026-03-15T00:00:00Z",
        _figures(3, 2, Decimal("66.67"), True, 1, 0),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_rule(world: World, case: Case) -> None:
    case.setup(world)
    for at, expected in [(case.at, case.expected), *case.also]:
        entries = world.consumption(at)
        if expected is None:
            assert entries == [], at
            continue
        [entry] = entries
        assert entry["productId"] == world.product_id and entry["productName"] == "Tokens"
        got = {k: entry[k] for k in expected}
        assert got == {k: (float(v) if isinstance(v, Decimal) else v) for k, v in expected.items()}, at


def test_terminated(world: World) -> None:
    contract = world.contract(start="2026-01-01T00:00:00Z")
    world.tokens(("a", "2026-02-10T00:00:00Z", 4))
    resp = world.api.post(f"/contracts/{contract['id']}/terminate", json={"terminationDate": "2026-03-01T00:00:00Z"})
    assert resp.status_code == 200, resp.text
    assert world.consumption("2026-03-15T00:00:00Z") == []
    assert world.one("2026-02-15T00:00:00Z")["consumedAmount"] == 4


def test_alias_added_after_its_events(world: World) -> None:
    world.contract()
    world.tokens(("a", "2026-03-01T00:00:00Z", 3), alias="later")
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 0
    resp = world.api.put(f"/customers/{world.customer_id}", json={"aliases": ["acme", "later"]})
    assert resp.status_code == 200
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 3


def test_late_event_counts_in_its_own_past_window(world: World) -> None:
    world.contract()  # monthly windows from Jan 31: [Jan 31, Feb 28), [Feb 28, Mar 31)
    world.tokens(("now", "2026-03-01T00:00:00Z", 1))
    world.tokens(("late", "2026-02-10T00:00:00Z", 6))  # arrives later, dated in the past window
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 1
    assert world.one("2026-02-20T00:00:00Z")["consumedAmount"] == 6


def test_deleted_events_stop_counting(world: World) -> None:
    world.contract()
    world.tokens(("a", "2026-03-01T00:00:00Z", 3), ("b", "2026-03-02T00:00:00Z", 4), ("c", "2026-03-03T00:00:00Z", 5))
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 12
    assert world.api.delete("/events/a").status_code == 200
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 9
    assert post_json(world.api, "/events/delete-by-refs", {"refs": ["b", "c"]}).status_code == 200
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == 0


def test_measurements_add_to_a_sum_meter(world: World) -> None:
    world.contract()
    world.tokens(("a", "2026-03-01T00:00:00Z", Decimal("0.1")))
    for day, value in ((2, "0.2"), (28, "100")):  # Mar 2 counts; Feb 28 00:00 is the window start: counts
        month = 3 if day == 2 else 2
        body = {
            "customerId": world.customer_id,
            "meterId": world.meter_id,
            "usageDate": {"year": 2026, "month": month, "day": day},
            "value": Decimal(value),
        }
        assert post_json(world.api, "/measurements", body).status_code == 200
    assert world.one("2026-03-15T00:00:00Z")["consumedAmount"] == pytest.approx(100.3, abs=0)
    # posting again replaces the day's value
    body = {
        "customerId": world.customer_id,
        "meterId": world.meter_id,
        "usageDate": {"year": 2026, "month": 3, "day": 2},
        "value": 1,
    }
    assert post_json(world.api, "/measurements", body).status_code == 200
    raw = world.api.get(f"/customers/products-consumptions/{world.customer_id}", params={"at": "2026-03-15T00:00:00Z"})
    assert '"consumedAmount":101.1' in raw.text


def test_exact_decimals(world: World) -> None:
    world.contract(products=[f.usage_line(world.product_id, units=0.3)])
    world.tokens(*[(f"e{i}", "2026-03-01T00:00:00Z", Decimal("0.1")) for i in range(3)])
    raw = world.api.get(f"/customers/products-consumptions/{world.customer_id}", params={"at": "2026-03-15T00:00:00Z"})
    assert '"consumedAmount":0.3' in raw.text and '"provisionedAmount":0.3' in raw.text
    assert '"usagePercentage":100' in raw.text and '"hasAccess":false' in raw.text


def test_errors_in_the_seed_shapes(world: World) -> None:
    api = world.api
    resp = api.get("/customers/products-consumptions/not-an-id")
    assert resp.status_code == 400 and resp.json()["param"] == "customerId"
    resp = api.get("/customers/products-consumptions/" + "0" * 24)
    assert resp.status_code == 404 and resp.json()["code"] == "resource_not_found"
    resp = api.get(f"/customers/products-consumptions/{world.customer_id}", params={"at": "yesterday"})
    assert resp.status_code == 400 and resp.json()["param"] == "at"
    del api.headers["Authorization"]
    resp = api.get(f"/customers/products-consumptions/{world.customer_id}")
    assert resp.status_code == 401 and resp.json()["type"] == "authentication_error"
