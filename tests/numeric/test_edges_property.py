"""No accepted data makes a later read answer 5xx (issue 11): values at and around the
numeric domain's edges go through every write path, then every read is asked, on SQLite
and PostgreSQL; consumption is checked exactly against an oracle written here (plain
Decimal arithmetic with ample precision, not kit/amounts.py)."""

import decimal
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterline.db.engine import Database, transaction
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.webhooks import thresholds
from tests.conftest import Account
from tests.contracts import factories as f
from tests.metering.factories import create_meter

WIDE = decimal.Context(prec=10_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
MAX = "999999999999999999.999999999999999999"
EDGES = [
    MAX,
    "-" + MAX,
    "0.000000000000000001",
    "-0.000000000000000001",
    "0",
    "-0",
    "0.0",
    "1e18",
    "-1e18",
    "1e-19",
    "1E17",
    "9.99999999999999999999999999999999999e17",
    "2.5E-3",
    "1e999999999",
    "1e-999999999",
    "1.000000000000000000000000",
    "1." + "0" * 399 + "1",
    "9" * 4300,
    "1" + "0" * 17,
    "123456789012345678.123456789012345678",
]
AT = "2026-01-20T00:00:00Z"


def _expected(text: str) -> Decimal | None:
    """The oracle: the value when inside the domain (|x| < 10^18, a multiple of 10^-18)."""
    value = Decimal(text)
    if not value.is_finite() or WIDE.compare(WIDE.abs(value), Decimal("1e18")) >= 0:
        return None
    scaled = WIDE.multiply(value, Decimal("1e18"))
    return value if scaled == scaled.to_integral_value(context=WIDE) else None


def _decimal_texts() -> st.SearchStrategy[str]:
    """Around the edges: up to 19 integer digits and 20 decimals, in plain and exponent form."""
    plain = st.decimals(min_value=Decimal("-1e19"), max_value=Decimal("1e19"), allow_nan=False, places=20)
    return st.one_of(plain.map(str), plain.map(lambda d: f"{d:E}"), plain.map(lambda d: format(d.normalize(WIDE), "f")))


def _body(payload: Any, number: str) -> bytes:
    return jsonenc.dumps(payload).decode().replace('"@N"', number).encode()


def _post(api: TestClient, path: str, payload: Any, number: str) -> Any:
    resp = api.post(path, content=_body(payload, number), headers={"content-type": "application/json"})
    assert resp.status_code < 500, (path, number[:80], resp.text[:300])
    return resp


def _get(api: TestClient, path: str, **params: Any) -> Any:
    resp = api.get(path, params=params)
    assert resp.status_code == 200, (path, resp.text[:300])
    return jsonenc.loads(resp.content)


def test_edge_values_through_every_write_then_every_read(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="tokens", field="v")["id"]
    pid = f.product(api, name="Tokens", meter_id=meter)
    f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=1000)])
    assert api.post("/webhook", json={"callbackUrl": "https://h.example/x", "eventType": "Overage"}).status_code == 200
    state: dict[str, Any] = {"events": Decimal(0), "measured": Decimal(0), "n": 0, "seen": set()}

    def check(text: str, as_string: bool) -> None:
        n = state["n"] = state["n"] + 1
        expected = _expected(text)
        number = f'"{text}"' if as_string else text
        # Events read by the Sum meter: the neighbour is stored whatever the value.
        good = {"name": "tokens", "timestamp": "2026-01-10T00:00:00Z", "customerAlias": "acme", "ref": f"g{n}"}
        bad = {**good, "ref": f"v{n}", "data": {"v": "@N"}}
        sent = _post(api, "/events", {"events": [{**good, "data": {"v": 1}}, bad]}, number).json()
        assert sent["validEvents"][0]["ref"] == f"g{n}"
        assert (len(sent["validEvents"]) == 2) == (expected is not None), (text, sent)
        state["events"] = WIDE.add(state["events"], WIDE.add(Decimal(1), expected or Decimal(0)))
        dry = _post(api, "/events/dry-run", {"events": [bad]}, number)
        assert dry.status_code == (200 if expected is not None else 400), (text, dry.text[:200])
        nonneg = expected is not None and expected >= 0
        # Measurements (one a day: each replaces the last).
        day = {"year": 2026, "month": 1, "day": 5}
        measurement = {"customerId": cid, "meterId": meter, "usageDate": day, "value": "@N"}
        m = _post(api, "/measurements", measurement, number)
        assert (m.status_code == 200) == nonneg, (text, m.text[:200])
        if nonneg:
            state["measured"] = expected
        # Contracts: per-unit price, commitment units and price; a tiered rate and fee with a tiny package.
        line = f.usage_line(pid, units="@N")
        line["pricing"]["price"] = "@N"
        line["commitment"]["price"] = "@N"
        tiered = f.usage_line(pid, units=5)
        tiered["pricing"] = {
            "type": "TIERED",
            "tiers": [{"fromInclusive": 0, "rate": "@N", "flatFee": "@N", "packageSize": 1e-18}],
        }
        for ln in (line, tiered):
            body = {
                "name": "C",
                "customerId": cid,
                "startDate": "2025-12-01T00:00:00Z",
                "endDate": "2026-02-01T00:00:00Z",
            }
            c = _post(api, "/contracts", {**body, "products": [ln]}, number)
            assert (c.status_code == 200) == nonneg, (text, c.text[:200])
        plan = {"name": "P", "billingData": {"billingInterval": "Monthly", "duration": 1, "autoRenewal": True}}
        assert (_post(api, "/plans", {**plan, "products": [line]}, number).status_code == 200) == nonneg
        # Credits and customer amounts.
        positive = expected is not None and expected > 0
        g = _post(api, "/credits/grant", {"customerId": cid, "creditAmount": "@N"}, number)
        assert (g.status_code == 200) == positive, (text, g.text[:200])
        _post(api, "/credits/deduct", {"customerId": cid, "creditAmount": "@N"}, number)
        cu = _post(api, "/customers", {"name": "X", "totalOutstandingAmount": "@N", "paidAmount": "@N"}, number)
        assert (cu.status_code == 200) == (expected is not None), (text, cu.text[:200])
        # Every read.
        consumed = WIDE.add(state["events"], state["measured"])
        [entry] = _get(api, f"/customers/products-consumptions/{cid}", at=AT)["productsConsumptions"]
        assert entry["consumedAmount"] == consumed, (entry, consumed)
        assert _get(api, "/customers/products-consumptions/alias/acme", at=AT)["productsConsumptions"] == [entry]
        one = _get(api, f"/product-consumption/{pid}", customerId=cid, at=AT)["productConsumption"]
        assert one == entry
        assert _get(api, f"/product-consumption/{pid}", at=AT)["productConsumption"]["consumedAmount"] == consumed
        listed, page = [], {"hasMore": True, "nextCursor": None}
        while page["hasMore"]:
            cursor = {"cursor": page["nextCursor"]} if page["nextCursor"] else {}
            page = _get(api, "/invoices", limit=100, customerId=cid, **cursor)
            listed += page["invoices"]
        for invoice in [i for i in listed if i["id"] not in state["seen"]]:
            state["seen"].add(invoice["id"])
            again = _get(api, f"/invoices/{invoice['id']}")["invoice"]
            r = again["revenueBreakdown"]
            assert r["total"] == r["subtotal"] - r["discount"] - r["creditsUsed"] + r["tax"], r
        _get(api, "/credits", customerId=cid)
        _get(api, "/events", startTime="2026-01-01T00:00:00Z", endTime="2026-02-01T00:00:00Z", limit=1000)
        _get(api, "/customers", limit=100)
        with transaction(db, write=False) as conn:
            thresholds.pending(conn, account_id=account.account_id, at_us=to_us(parse_instant(AT, param="at")))

    for text in EDGES:  # every edge, as a JSON number and as a string
        check(text, False)
        check(text, True)

    @given(text=_decimal_texts(), as_string=st.booleans())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def around(text: str, as_string: bool) -> None:
        check(text, as_string)

    around()
