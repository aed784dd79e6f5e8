"""A first pass over the whole flow."""

from decimal import Decimal

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.usage.service import usage
from tests.conftest import Account
from tests.metering.factories import create_meter, event, send


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


def test_ten_tenths_sum_to_one(api: TestClient, db: Database, account: Account) -> None:
    meter = create_meter(api, operator="Sum")
    body = send(api, [event(f"r{i}", value=Decimal("0.1")) for i in range(10)] + [event("r0", value=5)])
    assert len(body["validEvents"]) == 10
    assert body["invalidEvents"][0]["error"] == "Event ref already exists."
    with transaction(db, write=False) as conn:
        total = usage(
            conn,
            account_id=account.account_id,
            aliases=["acme"],
            meter_id=meter["id"],
            start_us=_us("2026-01-01T00:00:00Z"),
            end_us=_us("2026-02-01T00:00:00Z"),
        )
    assert total == Decimal(1) and str(total) in ("1.0", "1")


def test_delete_removes_contribution(api: TestClient, db: Database, account: Account) -> None:
    meter = create_meter(api, operator="Max")
    send(api, [event("a", value=5), event("b", value=9, ts="2026-01-10T10:30:00Z")])
    resp = api.post("/events/delete-by-refs", json={"refs": ["b", "zz"]})
    assert resp.status_code == 200 and [e["ref"] for e in resp.json()["events"]] == ["b"]
    assert resp.json()["events"][0]["deletedAt"].endswith("Z")
    with transaction(db, write=False) as conn:
        got = usage(
            conn,
            account_id=account.account_id,
            aliases=["acme"],
            meter_id=meter["id"],
            start_us=_us("2026-01-01T00:00:00Z"),
            end_us=_us("2026-02-01T00:00:00Z"),
        )
    assert got == 5


def test_usage_many_matches_usage_beyond_one_statement(api: TestClient, db: Database, account: Account) -> None:
    from meterline.usage.service import usage_many

    meter = create_meter(api, operator="Sum")
    send(api, [event(f"m{i}", ts=f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:17:00Z", value=i) for i in range(300)])
    start = _us("2026-01-01T00:30:00Z")
    requests = [(meter["id"], start + k * 3_600_000_000, start + (k + 300) * 3_600_000_000 + 7) for k in range(250)]
    with transaction(db, write=False) as conn:
        many = usage_many(conn, account_id=account.account_id, aliases=["acme", "other"], requests=requests)
        one = [
            usage(conn, account_id=account.account_id, aliases=["acme"], meter_id=m, start_us=s, end_us=e)
            for m, s, e in requests
        ]
    assert many == one and any(v > 0 for v in many)
