"""POST /v2/events/aggregation over HTTP, on SQLite and PostgreSQL: the worked example of
docs/semantics.md, both paths (rollups of a matching stored meter, stored events), errors."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from meterline.aggregation import service
from meterline.aggregation.schemas import AggregationRequest
from meterline.db.engine import Database, transaction
from meterline.kit import jsonenc
from tests.conftest import Account
from tests.metering.factories import create_meter, event, post_json, send

PATH = "/v2/events/aggregation"


def _customer(api: TestClient, *aliases: str) -> str:
    resp = api.post("/customers", json={"name": "Acme", "aliases": list(aliases)})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["customer"]["id"])


def _query(api: TestClient, **body: Any) -> Any:
    resp = post_json(api, PATH, body)
    assert resp.status_code == 200, resp.text
    return jsonenc.loads(resp.content)


def _example(api: TestClient) -> str:
    """The worked example: three calls on 2026-11-03, one on 2026-11-05, one on 2026-10-31."""
    cid = _customer(api, "acme", "acme-eu")
    send(
        api,
        [
            event("e1", ts="2026-11-03T08:00:00Z", alias="acme", tokens="1.5", region="eu"),
            event("e2", ts="2026-11-03T09:30:00Z", alias="acme-eu", tokens=2, region="us"),
            event("e3", ts="2026-11-03T23:59:59Z", alias="acme", tokens="0.25", region="eu"),
            event("e4", ts="2026-11-05T12:00:00Z", alias="acme", tokens=10, region="eu"),
            event("e5", ts="2026-10-31T23:00:00Z", alias="acme", tokens=4, region="eu"),
            event("x1", ts="2026-11-03T10:00:00Z", alias="other", tokens=100, region="eu"),
        ],
    )
    return cid


METERS = [
    {"key": "calls", "eventName": "api_call", "aggregation": {"operator": "Count"}},
    {"key": "tokens", "eventName": "api_call", "aggregation": {"operator": "Sum", "field": "tokens"}},
    {
        "key": "eu_max",
        "eventName": "api_call",
        "aggregation": {"operator": "Max", "field": "tokens"},
        "filters": [{"field": "region", "operator": "eq", "value": "eu"}],
    },
]
NOV = {"startTime": "2026-10-01T00:00:00Z", "endTime": "2026-11-20T00:00:00Z"}


def test_worked_example_by_day_and_month(api: TestClient) -> None:
    _example(api)
    got = _query(api, customerId="acme", period=NOV, meters=METERS, groupBy="day")
    assert got["period"] == {"startTime": "2026-10-01T00:00:00.000Z", "endTime": "2026-11-20T00:00:00.000Z"}
    assert got["groupBy"] == "day"
    assert got["dataPoints"] == [
        {"group": "2026-10-31", "values": {"calls": 1, "tokens": 4, "eu_max": 4}},
        {"group": "2026-11-03", "values": {"calls": 3, "tokens": Decimal("3.75"), "eu_max": Decimal("1.5")}},
        {"group": "2026-11-05", "values": {"calls": 1, "tokens": 10, "eu_max": 10}},
    ]
    by_month = _query(api, customerId="acme-eu", period=NOV, meters=METERS, groupBy="month")["dataPoints"]
    assert by_month == [
        {"group": "2026-10", "values": {"calls": 1, "tokens": 4, "eu_max": 4}},
        {"group": "2026-11", "values": {"calls": 4, "tokens": Decimal("13.75"), "eu_max": 10}},
    ]
    quarter = _query(api, customerId="acme", period=NOV, meters=METERS[:1], groupBy="quarter")["dataPoints"]
    assert quarter == [{"group": "2026-Q4", "values": {"calls": 5}}]
    year = _query(api, customerId="acme", period=NOV, meters=METERS[:1], groupBy="year")["dataPoints"]
    assert year == [{"group": "2026", "values": {"calls": 5}}]


def test_fill_dates_and_event_groups(api: TestClient) -> None:
    cid = _example(api)
    period = {"startTime": "2026-11-02T00:00:00Z", "endTime": "2026-11-06T00:00:00Z"}
    filled = _query(api, customerId=cid, period=period, meters=METERS[:2], groupBy="day", fillDates=True)
    assert [(p["group"], p["values"]["calls"], p["values"]["tokens"]) for p in filled["dataPoints"]] == [
        ("2026-11-02", 0, 0),
        ("2026-11-03", 3, Decimal("3.75")),
        ("2026-11-04", 0, 0),
        ("2026-11-05", 1, 10),
    ]
    evs = _query(api, customerId=cid, period=period, meters=METERS[1:], groupBy="event")["dataPoints"]
    assert evs == [
        {"group": "e1", "values": {"tokens": Decimal("1.5"), "eu_max": Decimal("1.5")}},
        {"group": "e2", "values": {"tokens": 2, "eu_max": 0}},
        {"group": "e3", "values": {"tokens": Decimal("0.25"), "eu_max": Decimal("0.25")}},
        {"group": "e4", "values": {"tokens": 10, "eu_max": 10}},
    ]


def test_pattern_arithmetic_and_in_filter(api: TestClient) -> None:
    _example(api)
    meters = [
        {
            "key": "double",
            "eventName": "api_call",
            "aggregation": {"operator": "Sum", "field": "tokens", "fieldArithmetic": {"operator": "*", "field": "k"}},
        },
        {
            "key": "listed",
            "eventName": "api_call",
            "aggregation": {"operator": "Count"},
            "filters": [{"field": "region", "operator": "in", "value": ["us", "apac"]}],
        },
        {
            "key": "big",
            "eventName": "api_call",
            "aggregation": {"operator": "Count"},
            "filters": [{"field": "tokens", "operator": "gte", "value": 2}],
        },
    ]
    send(api, [event("k1", ts="2026-11-04T00:00:00Z", alias="acme", tokens="0.1", k=3)])
    every = _query(api, customerIdPattern="*", period=NOV, meters=meters, groupBy="month")["dataPoints"]
    assert every[1] == {"group": "2026-11", "values": {"double": Decimal("0.3"), "listed": 1, "big": 3}}
    acme = _query(api, customerId="", customerIdPattern="acme*", period=NOV, meters=meters[2:], groupBy="year")
    assert acme["dataPoints"] == [{"group": "2026", "values": {"big": 3}}]
    none = post_json(api, PATH, {"customerIdPattern": "zz*", "period": NOV, "meters": meters, "groupBy": "day"})
    assert none.status_code == 404 and none.json()["param"] == "customerIdPattern"


def test_a_matching_stored_meter_answers_from_its_rollups(api: TestClient, db: Database, account: Account) -> None:
    """The same answer whether the stored meter exists (rollups) or not (events)."""
    _example(api)
    before = [_query(api, customerId="acme", period=NOV, meters=METERS, groupBy=by) for by in ("day", "month")]
    create_meter(api, operator="Sum", field="tokens")
    create_meter(api, operator="Count")
    create_meter(
        api,
        operator="Max",
        field="tokens",
        filter={"conditions": [{"criterions": [{"field": "region", "operator": "Equals", "value": "eu"}]}]},
    )
    after = [_query(api, customerId="acme", period=NOV, meters=METERS, groupBy=by) for by in ("day", "month")]
    assert after == before
    body = AggregationRequest.model_validate({"customerId": "acme", "meters": METERS, "groupBy": "day"})
    with transaction(db) as conn:
        assert sorted(service.stored_matches(conn, account.account_id, body)) == [0, 1, 2]
        tweaked = body.model_copy(update={"meters": [body.meters[0].model_copy(update={"eventName": "other"})]})
        assert service.stored_matches(conn, account.account_id, tweaked) == {}


def test_errors_in_the_seed_shapes(api: TestClient) -> None:
    _customer(api, "acme")
    base: dict[str, Any] = {"customerId": "acme", "period": NOV, "meters": METERS[:1], "groupBy": "day"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"meters": [{"key": "q", "eventName": "api_call", "sqlSelect": "SELECT 1"}]}, 400, "meters[0].sqlSelect"),
        (
            {"meters": [{"key": "q", "eventName": "x", "sqlFullQuery": {"sql": "DROP TABLE events", "params": {}}}]},
            400,
            "meters[0].sqlFullQuery",
        ),
        ({"meters": [{"key": "q", "eventName": "api_call"}]}, 400, "meters[0].aggregation"),
        (
            {"meters": [{"key": "q", "eventName": "e", "aggregation": {"operator": "Sum"}}]},
            400,
            "meters[0].aggregation.field",
        ),
        ({"meters": METERS[:1] * 2}, 400, "meters"),
        ({"groupBy": "week"}, 400, "groupBy"),
        ({"period": {"startTime": "2026-12-01T00:00:00Z", "endTime": "2026-11-01T00:00:00Z"}}, 400, "period.endTime"),
        ({"period": {"startTime": "soon"}}, 400, "period.startTime"),
        ({"period": {"startTime": "1900-01-01T00:00:00Z", "endTime": "2100-01-01T00:00:00Z"}}, 400, "period"),
        ({"customerId": "nobody"}, 404, "customerId"),
        ({"customerId": "0" * 24}, 404, "customerId"),
        ({"customerId": None}, 400, "customerId"),
    ]
    for change, status, param in cases:
        resp = post_json(api, PATH, base | change)
        assert resp.status_code == status, (change, resp.text)
        body = resp.json()
        assert body["param"] == param and body["type"] == "invalid_request_error", (change, body)
    sql = post_json(api, PATH, base | cases[0][0]).json()
    assert "never runs a client's SQL" in sql["message"] and sql["code"] == "bad_request"
