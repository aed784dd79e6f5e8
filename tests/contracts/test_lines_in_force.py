"""contracts.service.lines_in_force: what consumption reads, on SQLite and PostgreSQL."""

from decimal import Decimal

from fastapi.testclient import TestClient

from meterline.contracts.service import LineInForce, account_lines_in_force, lines_in_force
from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from tests.conftest import Account
from tests.contracts import factories as f


def us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


def lines_at(db: Database, account: Account, customer_id: str, at: str) -> list[LineInForce]:
    with transaction(db, write=False) as conn:
        return lines_in_force(conn, account_id=account.account_id, customer_id=customer_id, at_us=us(at))


def test_windows_provisioning_and_product_data(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api)
    meter_id = f.meter(db, account.account_id)
    pid = f.product(api, name="API calls", meter_id=meter_id)
    plain = f.product(api, name="No meter")
    price_line = f.usage_line(pid, strategy="TOP_UP") | {
        "pricing": {"type": "PER_UNIT", "price": 0.003},
        "commitment": {"units": 0, "price": 30, "type": "PRICE", "overageStrategy": "TOP_UP"},
    }
    reset_line = f.usage_line(plain, units=7.5) | {"pricing": {"type": "PER_UNIT", "price": 1, "usageReset": 3}}
    c = f.contract(
        api,
        cid,
        startDate="2026-01-31T00:00:00Z",
        endDate="2026-06-15T00:00:00Z",
        products=[price_line, reset_line, f.usage_line(None)],
    )
    got = lines_at(db, account, cid, "2026-03-15T12:00:00Z")
    assert [(x.catalog_product_id, x.line_path) for x in got] == [(pid, "products[0]"), (plain, "products[1]")]
    a, b = got
    assert a.product_name == "API calls" and a.meter_id == meter_id and b.meter_id is None
    assert a.provisioned == Decimal(10000) and a.overage_strategy == "TOP_UP"
    assert (a.window_start_us, a.window_end_us) == (us("2026-02-28T00:00:00Z"), us("2026-03-31T00:00:00Z"))
    assert b.provisioned == Decimal("7.5") and b.overage_strategy == "BLOCK"
    assert (b.window_start_us, b.window_end_us) == (us("2026-01-31T00:00:00Z"), us("2026-04-30T00:00:00Z"))
    assert a.contract_id == c["id"] and a.contract_start_us == us("2026-01-31T00:00:00Z") and a.customer_id == cid
    # the last window is clipped to endDate; from endDate on nothing is in force
    late = lines_at(db, account, cid, "2026-06-01T00:00:00Z")
    assert late[0].window_end_us == us("2026-06-15T00:00:00Z") and late[1].window_end_us == us("2026-06-15T00:00:00Z")
    assert lines_at(db, account, cid, "2026-06-15T00:00:00Z") == []
    assert lines_at(db, account, cid, "2026-01-30T23:59:59Z") == []
    # a deleted catalog product leaves the answer
    api.delete(f"/catalogProducts/{plain}")
    assert [x.catalog_product_id for x in lines_at(db, account, cid, "2026-03-15T12:00:00Z")] == [pid]
    with transaction(db, write=False) as conn:
        everyone = account_lines_in_force(conn, account_id=account.account_id, at_us=us("2026-03-15T12:00:00Z"))
        assert [x.catalog_product_id for x in everyone] == [pid]
        assert (
            account_lines_in_force(
                conn, account_id=account.account_id, at_us=us("2026-03-15T12:00:00Z"), catalog_product_id=plain
            )
            == []
        )


def test_groups_line_durations_status_and_termination(api: TestClient, db: Database, account: Account) -> None:
    cid = f.customer(api)
    pid = f.product(api, meter_id=f.meter(db, account.account_id))
    group = {
        "displayName": "Bundle",
        "products": [f.usage_line(pid) | {"commitment": None}],
        "commitment": {
            "units": 40,
            "overageStrategy": "UPGRADE_PLAN",
            "scheduling": {"duration": {"unit": "WEEK", "value": 1}},
        },
    }
    short = f.usage_line(pid, units=5) | {"scheduling": {"duration": {"unit": "DAY", "value": 10}}}
    c = f.contract(api, cid, startDate="2026-01-01T00:00:00Z", productGroups=[group], products=[short])
    got = lines_at(db, account, cid, "2026-01-09T00:00:00Z")
    assert [(x.line_path, x.provisioned, x.overage_strategy) for x in got] == [
        ("products[0]", 5, "BLOCK"),
        ("productGroups[0].products[0]", 40, "UPGRADE_PLAN"),
    ]
    assert (got[1].window_start_us, got[1].window_end_us) == (us("2026-01-08T00:00:00Z"), us("2026-01-15T00:00:00Z"))
    assert got[0].window_end_us == us("2026-01-11T00:00:00Z")  # clipped to the line's 10 days
    assert [x.line_path for x in lines_at(db, account, cid, "2026-01-11T00:00:00Z")] == ["productGroups[0].products[0]"]

    # a termination in the future: in force (PendingTermination) until then, windows clipped to it
    api.post(f"/contracts/{c['id']}/terminate", json={"terminationDate": "2099-01-04T00:00:00Z"})
    assert len(lines_at(db, account, cid, "2099-01-03T00:00:00Z")) == 1
    assert lines_at(db, account, cid, "2099-01-03T00:00:00Z")[0].window_end_us == us("2099-01-04T00:00:00Z")
    assert lines_at(db, account, cid, "2099-01-04T00:00:00Z") == []
    inactive = f.contract(api, cid, startDate="2026-01-01T00:00:00Z", status="Inactive", products=[f.usage_line(pid)])
    assert inactive["status"] == "Inactive"
    assert len(lines_at(db, account, cid, "2026-01-09T00:00:00Z")) == 2
    api.delete(f"/contracts/{c['id']}")
    assert lines_at(db, account, cid, "2026-01-09T00:00:00Z") == []
