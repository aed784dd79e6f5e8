"""TierCrossed, FinalTierExceeded, CommitmentCrossed and CurrencyCommitmentUsageCrossed from
the threshold scan, delivered to a real receiver, on SQLite and PostgreSQL; the worked
example of docs/semantics.md "Notifications beyond Overage". Unserved types are refused."""

from collections import Counter
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit import jsonenc
from meterline.kit.times import parse_instant, to_us
from meterline.webhooks import linerules, thresholds
from tests.conftest import Account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, send
from tests.webhooks.support import Received, drive, receiver, verify

D = Decimal
FEB_20 = to_us(parse_instant("2026-02-20T00:00:00Z", param="t"))
MAR_20 = to_us(parse_instant("2026-03-20T00:00:00Z", param="t"))
TIERS = [
    {"fromInclusive": 0, "toExclusive": 10, "rate": 1},
    {"fromInclusive": 10, "toExclusive": 20, "rate": 0.5},
    {"fromInclusive": 20, "rate": 0.25},
]
TYPES = ("TierCrossed", "FinalTierExceeded", "CommitmentCrossed", "CurrencyCommitmentUsageCrossed")


def _scan(db: Database, account: Account, at_us: int) -> Counter[str]:
    with transaction(db) as conn:
        due = thresholds.pending(conn, account_id=account.account_id, at_us=at_us)
        thresholds.queue(conn, account_id=account.account_id, crossings=due)
    return Counter(c.event_type for c in due)


def _calls(api: TestClient, n: int, ts: str, tag: str) -> None:
    send(api, [event(f"{tag}-{i}", ts=ts, name="call", alias="a") for i in range(n)])


def _bodies(got: list[Received]) -> list[dict[str, Any]]:
    return [jsonenc.loads(g.body) for g in got if g.json["type"] != "PingTest"]


def test_worked_example_tiers_commitment_and_currency(api: TestClient, db: Database, account: Account) -> None:
    meter = create_meter(api, operator="Count", event_name="call")
    pid = f.product(api, name="Calls", meter_id=meter["id"])
    cid = f.customer(api, "A", aliases=["a"])
    line = {
        "displayName": "Calls, tiered",
        "catalogProductId": pid,
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": {"type": "TIERED", "tiers": TIERS},
        "commitment": {"units": 15, "price": 12, "type": "UNITS"},
    }
    contract_id = f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[line])["id"]
    # B's plain PER_UNIT line (no tiers, no commitment) is never judged, however much it uses
    b = f.customer(api, "B", aliases=["b"])
    plain = {**line, "pricing": {"type": "PER_UNIT", "price": 1}}
    del plain["commitment"]
    f.contract(api, b, startDate="2026-01-01T00:00:00Z", products=[plain])
    send(api, [event(f"plain-{i}", ts="2026-02-10T00:00:00Z", name="call", alias="b") for i in range(40)])
    with receiver() as rx:
        for kind in TYPES:
            extra = {"threshold": 0.5} if kind == "CurrencyCommitmentUsageCrossed" else {}
            resp = api.post("/webhook", json={"callbackUrl": rx.url, "eventType": kind, **extra})
            assert resp.status_code == 200, resp.text
        assert drive(db) == 4  # the PingTests

        _calls(api, 5, "2026-02-10T00:00:00Z", "a")  # 5 units: first tier, worth 5 < 0.5 x 12
        assert _scan(db, account, FEB_20) == Counter()
        _calls(api, 6, "2026-02-11T00:00:00Z", "b")  # 11: enters tier 1; worth 10 + 0.5 = 10.5 >= 6
        assert _scan(db, account, FEB_20) == Counter({"TierCrossed": 1, "CurrencyCommitmentUsageCrossed": 1})
        _calls(api, 4, "2026-02-12T00:00:00Z", "c")  # 15: exactly the commitment, not beyond it
        assert _scan(db, account, FEB_20) == Counter()
        _calls(api, 10, "2026-02-13T00:00:00Z", "d")  # 25: enters the last tier, beyond the commitment
        assert _scan(db, account, FEB_20) == Counter({"TierCrossed": 1, "FinalTierExceeded": 1, "CommitmentCrossed": 1})
        assert _scan(db, account, FEB_20) == Counter()  # once each
        # March, a new window: 25 at once enters tiers 1 and 2 (one TierCrossed each)
        _calls(api, 25, "2026-03-02T00:00:00Z", "m")
        assert _scan(db, account, MAR_20) == Counter(
            {"TierCrossed": 2, "FinalTierExceeded": 1, "CommitmentCrossed": 1, "CurrencyCommitmentUsageCrossed": 1}
        )
        assert _scan(db, account, MAR_20) == Counter()

        assert drive(db) == 10
        got = rx.wait_for(14)
        public_key = api.get("/webhooks/public-key").json()["publicKey"]
        for g in got:
            verify(public_key, g)
        feb = [b for b in _bodies(got) if b["data"]["windowStart"].startswith("2026-02")]
        by_type = {(b["type"], b["data"].get("tier", {}).get("index")): b["data"] for b in feb}
        tier1 = by_type[("TierCrossed", 1)]
        assert tier1["consumedAmount"] == 11 and tier1["tier"]["fromInclusive"] == 10 and tier1["tierCount"] == 3
        assert (tier1["customerId"], tier1["contractId"], tier1["productId"]) == (cid, contract_id, pid)
        assert tier1["linePath"] == "products[0]" and tier1["displayName"] == "Calls, tiered"
        assert tier1["windowStart"] == "2026-02-01T00:00:00.000Z" and tier1["windowEnd"] == "2026-03-01T00:00:00.000Z"
        assert by_type[("TierCrossed", 2)]["consumedAmount"] == 25
        assert by_type[("FinalTierExceeded", 2)]["tier"]["index"] == 2
        crossed = by_type[("CommitmentCrossed", None)]
        assert (crossed["committedUnits"], crossed["consumedAmount"], crossed["exceededAmount"]) == (15, 25, 10)
        money = by_type[("CurrencyCommitmentUsageCrossed", None)]
        assert (money["commitmentPrice"], money["usageValue"], money["threshold"]) == (12, D("10.5"), D("0.5"))


def test_rules() -> None:
    tiers = linerules.sorted_tiers({"type": "TIERED", "tiers": list(reversed(TIERS))})
    assert [t["fromInclusive"] for t in tiers] == [0, 10, 20]
    assert linerules.tiers_entered(tiers, D(10)) == []  # tier 1 holds none of 10 units yet
    assert linerules.tiers_entered(tiers, D("10.001")) == [1]
    assert linerules.final_tier_entered(tiers, D(20)) is False and linerules.final_tier_entered(tiers, D(21))
    assert linerules.sorted_tiers({"type": "PER_UNIT", "price": 1}) == []
    assert not linerules.commitment_exceeded(D(15), D(15)) and linerules.commitment_exceeded(D(15), D("15.5"))
    assert not linerules.commitment_exceeded(D(0), D(3))  # no commitment, nothing to exceed
    assert linerules.usage_value({"type": "PER_UNIT", "price": D("0.3"), "chunkSize": 10}, D(11)) == D("6.0")
    assert linerules.currency_crossed(None, D(12), D(12)) and not linerules.currency_crossed(None, D(12), D("11.99"))
    assert not linerules.currency_crossed(D("0.5"), D(0), D(5))


def test_unserved_types_are_refused_at_subscribe(api: TestClient) -> None:
    for kind, word in (("CustomerPortalLinkSent", "portal"), ("InvoiceSendFailed", "sends no invoices")):
        resp = api.post("/webhook", json={"callbackUrl": "https://hooks.example/x", "eventType": kind})
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert body["param"] == "eventType" and body["code"] == "event_type_unsupported" and word in body["message"]
    assert api.get("/webhooks").json()["total"] == 0
