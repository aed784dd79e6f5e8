"""Issue 11, failures 1, 2, 3 and 9: values outside the numeric domain are refused where
they enter, and nothing accepted breaks a later read (SQLite and PostgreSQL)."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from meterline.kit import jsonenc
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, post_json

AT = "2026-01-20T00:00:00Z"


def _setup(api: TestClient) -> tuple[str, str]:
    cid = f.customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="tokens", field="v")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=1000)])
    return cid, pid


def post_number(api: TestClient, path: str, body: Any, number: str) -> Any:
    """POST `body` with every "@N" string replaced by the JSON number text `number` (a
    client's own encoder may not be able to write it, e.g. 1e999999999)."""
    text = jsonenc.dumps(body).decode().replace('"@N"', number)
    return api.post(path, content=text, headers={"content-type": "application/json"})


def _reads_ok(api: TestClient, cid: str, pid: str) -> list[dict[str, Any]]:
    answers = [
        api.get(f"/customers/products-consumptions/{cid}", params={"at": AT}),
        api.get("/customers/products-consumptions/alias/acme", params={"at": AT}),
        api.get(f"/product-consumption/{pid}", params={"customerId": cid, "at": AT}),
        api.get(f"/product-consumption/{pid}", params={"at": AT}),
    ]
    for resp in answers:
        assert resp.status_code == 200, resp.text
    return [r.json() for r in answers]


def test_huge_values_are_invalid_events_and_reads_stay_up(api: TestClient) -> None:
    """Failure 1: 1e60, "1e400", a 4300-digit integer read by a Sum meter."""
    cid, pid = _setup(api)
    bad = [Decimal("1e60"), "1e400", int("9" * 4300), Decimal("1e-400"), "0.0000000000000000001"]
    events = [event("good", ts="2026-01-10T00:00:00Z", name="tokens", v=Decimal("2.5"))]
    events += [event(f"bad{i}", ts="2026-01-10T00:00:00Z", name="tokens", v=v) for i, v in enumerate(bad)]
    resp = post_json(api, "/events", {"events": events})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [e["ref"] for e in body["validEvents"]] == ["good"]
    assert len(body["invalidEvents"]) == len(bad)
    for item in body["invalidEvents"]:
        assert "data.v" in item["error"], item
    entry, _, one, total = _reads_ok(api, cid, pid)
    assert entry["productsConsumptions"][0]["consumedAmount"] == 2.5
    assert one["productConsumption"]["consumedAmount"] == 2.5
    assert total["productConsumption"]["consumedAmount"] == 2.5


def test_one_bad_event_does_not_sink_its_batch(api: TestClient) -> None:
    """Failure 2: the good event is stored, the bad one listed; dry-run answers 400."""
    cid, pid = _setup(api)
    events = [
        event("good", ts="2026-01-10T00:00:00Z", name="tokens", v=3),
        event("bad", ts="2026-01-10T00:00:00Z", name="tokens", v="@N"),
    ]
    resp = post_number(api, "/events", {"events": events}, '"1e999999999"')
    assert resp.status_code == 200, resp.text
    assert [e["ref"] for e in resp.json()["validEvents"]] == ["good"]
    [invalid] = resp.json()["invalidEvents"]
    assert invalid["event"]["ref"] == "bad" and "data.v" in invalid["error"]
    dry = post_number(api, "/events/dry-run", {"events": events}, '"1e999999999"')
    assert dry.status_code == 400, dry.text
    assert dry.json()["param"] == "events[1]"
    assert _reads_ok(api, cid, pid)[0]["productsConsumptions"][0]["consumedAmount"] == 3


def test_event_no_meter_reads_is_stored_as_sent(api: TestClient) -> None:
    _setup(api)
    resp = post_json(api, "/events", {"events": [event("x", name="other", v="1e400")]})
    assert resp.status_code == 200 and [e["ref"] for e in resp.json()["validEvents"]] == ["x"]


def test_a_meter_created_later_skips_stored_out_of_domain_values(api: TestClient) -> None:
    cid = f.customer(api, aliases=["acme"])
    send = post_json(
        api,
        "/events",
        {
            "events": [
                event("a", ts="2026-01-10T00:00:00Z", name="tokens", v="1e400"),
                event("b", ts="2026-01-10T00:00:00Z", name="tokens", v=4),
            ]
        },
    )
    assert len(send.json()["validEvents"]) == 2
    meter = create_meter(api, operator="Sum", event_name="tokens", field="v")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    f.contract(api, cid, startDate="2026-01-01T00:00:00Z", products=[f.usage_line(pid, units=1000)])
    assert _reads_ok(api, cid, pid)[0]["productsConsumptions"][0]["consumedAmount"] == 4


def test_out_of_domain_amounts_are_400_with_param(api: TestClient) -> None:
    """Failure 3 and the commitment cases of failure 1."""
    cid = f.customer(api, aliases=["acme"])
    meter = create_meter(api, operator="Sum", event_name="tokens", field="v")
    pid = f.product(api, name="Tokens", meter_id=meter["id"])
    for v in ("1e999999999", "1e-999999999", "1e18", "1e-19", "-1e18", "1" + "0" * 4299):
        resp = post_number(api, "/customers", {"name": "X", "totalOutstandingAmount": "@N"}, v)
        assert resp.status_code == 400 and resp.json()["param"] == "totalOutstandingAmount", resp.text
        assert resp.json()["code"] == "validation_failed"
        resp = post_number(api, "/credits/grant", {"customerId": cid, "creditAmount": "@N"}, v)
        assert resp.status_code == 400 and resp.json()["param"] == "creditAmount", resp.text
        day = {"year": 2026, "month": 1, "day": 2}
        measurement = {"customerId": cid, "meterId": meter["id"], "usageDate": day, "value": "@N"}
        resp = post_number(api, "/measurements", measurement, v)
        assert resp.status_code == 400 and resp.json()["param"] == "value", resp.text
        line = f.usage_line(pid, units=10)
        line["pricing"]["price"] = "@N"
        resp = post_number(api, "/contracts", {"name": "C", "customerId": cid, "startDate": AT, "products": [line]}, v)
        assert resp.status_code == 400 and resp.json()["param"] == "products[0].pricing.price", resp.text
        line = f.usage_line(pid, units="@N")
        resp = post_number(api, "/contracts", {"name": "C", "customerId": cid, "startDate": AT, "products": [line]}, v)
        assert resp.status_code == 400 and resp.json()["param"] == "products[0].commitment.units", resp.text
        line = f.usage_line(pid, units=10)
        line["commitment"]["price"] = "@N"
        resp = post_number(api, "/contracts", {"name": "C", "customerId": cid, "startDate": AT, "products": [line]}, v)
        assert resp.status_code == 400 and resp.json()["param"] == "products[0].commitment.price", resp.text
    assert api.get("/invoices").status_code == 200


def test_numbers_json_cannot_hold_are_400_not_500(api: TestClient) -> None:
    for text in ("1" * 4301, "1e99999999999999999999"):
        resp = post_number(api, "/credits/grant", {"customerId": "a" * 24, "creditAmount": "@N"}, text)
        assert resp.status_code == 400 and resp.json()["code"] == "bad_request", resp.text


def test_number_and_string_of_the_same_decimal_count_the_same(api: TestClient) -> None:
    """Failure 9: a long decimal as a string counts like the number; 1 + 1e-400 is refused."""
    cid, _ = _setup(api)
    long = "123456789012345678.123456789012345678"
    events = [
        event("n", ts="2026-01-10T00:00:00Z", name="tokens", v=Decimal(long)),
        event("s", ts="2026-01-10T00:00:00Z", name="tokens", v=long),
        event("tiny", ts="2026-01-10T00:00:00Z", name="tokens", v=Decimal("1." + "0" * 399 + "1")),
    ]
    body = post_json(api, "/events", {"events": events}).json()
    assert [e["ref"] for e in body["validEvents"]] == ["n", "s"]
    assert [e["event"]["ref"] for e in body["invalidEvents"]] == ["tiny"]
    resp = api.get(f"/customers/products-consumptions/{cid}", params={"at": AT})
    assert resp.status_code == 200
    assert resp.text.count("246913578024691356.246913578024691356") == 1


def test_filters_compare_amounts_inside_the_domain(api: TestClient) -> None:
    crit = {"field": "size", "operator": "LargerThan", "value": "1e999999999"}
    body = {"name": "m", "eventName": "tokens", "aggregationMethod": {"operator": "Count"}}
    resp = api.post("/meters", json={**body, "filter": {"conditions": [{"criterions": [crit]}]}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["param"] == "filter.conditions[0].criterions[0].value"
    crit["value"] = "10"
    assert api.post("/meters", json={**body, "filter": {"conditions": [{"criterions": [crit]}]}}).status_code == 200
    events = [
        event("big", name="tokens", size="1e40"),  # compared by the filter: refused
        event("ok", name="tokens", size=11),
        event("free", name="tokens", other="1e40"),  # read by no meter: stored
    ]
    body = post_json(api, "/events", {"events": events}).json()
    assert [e["ref"] for e in body["validEvents"]] == ["ok", "free"]
    [invalid] = body["invalidEvents"]
    assert invalid["event"]["ref"] == "big" and invalid["error"].startswith("data.size must be")
