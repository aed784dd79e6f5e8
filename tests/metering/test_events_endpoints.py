"""Events over HTTP: ingest, query, get, delete, dry-run, and bad input."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from meterline.kit.times import parse_instant, to_us
from meterline.usage.service import usage
from tests.metering.factories import create_meter, event, post_json, send


def usage_of(api: TestClient, meter_id: str, aliases: tuple[str, ...] = ("acme",)) -> Decimal:
    """The meter over January 2026 through the domain entry point, on the app's database."""
    from meterline.db.engine import transaction

    app: Any = api.app
    account_id = api.get("/meters/" + meter_id).json()  # tenancy check: the meter is ours
    assert "meter" in account_id
    token = api.headers["Authorization"].split()[1]
    principal = app.state.auth.verify_token(token)
    with transaction(app.state.db, write=False) as conn:
        return usage(
            conn,
            account_id=principal.account_id,
            aliases=list(aliases),
            meter_id=meter_id,
            start_us=to_us(parse_instant("2026-01-01T00:00:00Z", param="t")),
            end_us=to_us(parse_instant("2026-02-01T00:00:00Z", param="t")),
        )


def test_send_echo_and_validation(api: TestClient) -> None:
    body = send(
        api,
        [
            event("ok-1", ts="2026-01-10T10:00:00", value=Decimal("0.10")),
            {
                "name": "api_call",
                "timestamp": "2026-01-10T10:00:00.123456+01:00",
                "customerAlias": "acme",
                "ref": "ok-2",
            },
            {"name": "", "timestamp": "2026-01-10T10:00:00Z", "customerAlias": "acme", "ref": "bad-1"},
            {"name": "n", "timestamp": "yesterday", "customerAlias": "acme", "ref": "bad-2"},
            {"name": "n", "timestamp": "2099-01-01T00:00:00Z", "customerAlias": "acme", "ref": "bad-3"},
            {"name": "n", "timestamp": "2026-01-10T10:00:00Z", "customerAlias": "acme", "ref": "x" * 257},
            {"name": "n", "timestamp": "2026-01-10T10:00:00Z", "customerAlias": "acme", "ref": "bad-5", "data": [1]},
            {"name": "n", "timestamp": 12, "customerAlias": "acme", "ref": "bad-6"},
            {"name": "n", "timestamp": "2026-01-10T10:00:00Z", "ref": "bad-7"},
            "not an event",
            event("ok-1"),
        ],
    )
    assert body["validEvents"] == [
        {
            "name": "api_call",
            "timestamp": "2026-01-10T10:00:00.000Z",
            "customerAlias": "acme",
            "ref": "ok-1",
            "data": {"value": 0.1},
        },
        {"name": "api_call", "timestamp": "2026-01-10T09:00:00.123456Z", "customerAlias": "acme", "ref": "ok-2"},
    ]
    errors = [e["error"] for e in body["invalidEvents"]]
    assert len(errors) == 9 and errors[-1] == "Event ref already exists."
    assert "name" in errors[0] and "timestamp" in errors[1] and "future" in errors[2] and "ref" in errors[3]
    assert "data" in errors[4] and "timestamp" in errors[5] and "customerAlias" in errors[6] and "object" in errors[7]
    got = api.get("/events/ok-1").json()["event"]
    assert got["data"] == {"value": 0.1} and len(got["id"]) == 24 and got["timestamp"] == "2026-01-10T10:00:00.000Z"
    assert '"value":0.10' in api.get("/events/ok-1").text or '"value":0.1' in api.get("/events/ok-1").text


def test_query_get_delete(api: TestClient) -> None:
    send(api, [event(f"q{i}", ts=f"2026-01-{10 + i:02d}T00:00:00Z", alias="a" if i % 2 else "b") for i in range(6)])
    send(api, [event("other", name="other_event")])
    q = {"startTime": "2026-01-11T00:00:00.000000+0000", "endTime": "2026-01-15T00:00:00.000000+0000"}
    page = api.get("/events", params={**q, "limit": 2}).json()
    assert [e["ref"] for e in page["events"]] == ["q1", "q2"] and page["total"] == 4 and page["hasMore"]
    rest = api.get("/events", params={**q, "limit": 2, "cursor": page["nextCursor"]}).json()
    assert [e["ref"] for e in rest["events"]] == ["q3", "q4"] and not rest["hasMore"]
    only_a = api.get("/events", params={**q, "customerAlias": "a", "eventName": "api_call"}).json()
    assert [e["ref"] for e in only_a["events"]] == ["q1", "q3"] and only_a["total"] == 2
    assert api.get("/events", params={"startTime": "nope", "endTime": q["endTime"]}).status_code == 400
    assert api.get("/events", params={"endTime": q["endTime"]}).status_code == 400
    assert api.get("/events/missing").status_code == 404
    deleted = api.delete("/events/q1").json()["event"]
    assert deleted["ref"] == "q1" and deleted["deletedAt"].endswith("Z")
    assert api.get("/events/q1").status_code == 404 and api.delete("/events/q1").status_code == 404
    gone = api.post("/events/delete-by-refs", json={"refs": ["q2", "q3", "nope"]}).json()["events"]
    assert sorted(e["ref"] for e in gone) == ["q2", "q3"]
    assert api.post("/events/delete-by-refs", json={"refs": ["r"] * 1001}).status_code == 400
    assert api.post("/events/delete-by-refs", json={"refs": []}).status_code == 400


def test_dry_run_stores_nothing(api: TestClient) -> None:
    api.post("/customers", json={"name": "Acme", "aliases": ["acme"]})
    count = create_meter(api, operator="Count")
    mx = create_meter(api, operator="Max", field="value")
    create_meter(api, operator="Sum", event_name="other")
    body = post_json(
        api, "/events/dry-run", {"events": [event("d1", value=Decimal("2.5")), event("d2", alias="nobody")]}
    ).json()
    first, second = body["events"]
    assert first["event"]["accountId"] and first["event"]["ref"] == "d1" and first["matchedCustomer"]
    values = {m["id"]: m["value"] for m in first["meterWithValues"]}
    assert values == {count["id"]: 1, mx["id"]: 2.5}
    assert second["matchedCustomer"] is None
    nothing = post_json(api, "/events/dry-run", {"events": [event("d3")]}).json()["events"][0]
    assert {m["id"]: m["value"] for m in nothing["meterWithValues"]} == {count["id"]: 1, mx["id"]: None}
    assert api.get("/events/d1").status_code == 404
    assert usage_of(api, count["id"]) == 0
    bad = api.post("/events/dry-run", json={"events": [{"name": "x"}]})
    assert bad.status_code == 400 and bad.json()["param"] == "events[0]"


def test_bad_bodies_are_clear_400_or_413_and_store_nothing(api: TestClient) -> None:
    meter = create_meter(api, operator="Count")
    big_string = "x" * (1024 * 1024)
    cases: list[tuple[bytes, int]] = [
        (b"{not json", 400),
        (b"", 400),
        (b"[]", 400),
        (b'{"events": 3}', 400),
        (b'{"events": []}', 400),
        (b'{"other": []}', 400),
        (b'{"events": [{"name": "n", "data": {"v": NaN}}]}', 400),
        (b'{"events": [{"name": "n", "data": {"v": Infinity}}]}', 400),
        (b'{"events": [' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]}", 400),
        (b'{"events": ["' + big_string.encode() + b'"]}', 413),
        (b'{"events": [' + b",".join([b'{"name":"n"}'] * 1001) + b"]}", 413),
        (b'{"events": [' + b",".join([b'{"name":"' + b"y" * 300 + b'"}'] * 1000) + b"]}", 413),
    ]
    for content, status in cases:
        resp = api.post("/events", content=content, headers={"content-type": "application/json"})
        assert resp.status_code == status, (content[:40], resp.status_code, resp.text[:200])
        assert resp.json()["type"] == "invalid_request_error", resp.text[:200]
    # 1000 events of ~300 B exceed 256 KiB; 1000 small events are fine
    ok = send(api, [event(f"e{i}") for i in range(1000)])
    assert len(ok["validEvents"]) == 1000
    assert usage_of(api, meter["id"]) == 1000
    huge = b'{"name": "n", "timestamp": "2026-01-10T00:00:00Z", "customerAlias": "a", "ref": "h", '
    huge += b'"data": {"v": [1e999999]}}'
    resp = api.post("/events", content=b'{"events": [' + huge + b"]}")
    assert resp.status_code == 200 and "number" in resp.json()["invalidEvents"][0]["error"]


def test_nul_in_event_text_is_stored_or_400_never_500(api: TestClient, backend: str) -> None:
    """U+0000 in an alias or a ref (PostgreSQL text cannot hold it; SQLite can): stored
    (SQLite) or a clear 400 (PostgreSQL), never a 500. In data it is stored on both: data,
    and the values meters keep from it, are JSON texts (escaped)."""
    create_meter(api, operator="Distinct", field="region")
    create_meter(api, operator="Last", field="value")
    for i, ev in enumerate(
        [
            event("nul-alias", alias="a\x00b", region="eu", value=1),
            event("nul-\x00-ref", region="eu", value=1),
        ]
    ):
        # With a plain event beside it: on PostgreSQL the whole batch is refused (nothing stored).
        resp = post_json(api, "/events", {"events": [ev, event(f"plain-{i}", region="eu", value=1)]})
        if backend == "sqlite":
            assert resp.status_code == 200 and len(resp.json()["validEvents"]) == 2, (i, resp.text)
        else:
            assert resp.status_code == 400 and resp.json()["code"] == "bad_request", (i, resp.text)
            assert "NUL" in resp.json()["message"], resp.text
            assert api.get(f"/events/plain-{i}").status_code == 404
    resp = post_json(api, "/events", {"events": [event("nul-data", region="e\x00u", value=1)]})
    assert resp.status_code == 200 and len(resp.json()["validEvents"]) == 1, resp.text
    assert api.get("/events/nul-data").json()["event"]["data"]["region"] == "e\x00u"
