"""The official client (vayu-py 0.3.11) on usage over time (v2_query_events_aggregation) and
cloud usage results (submit_cloud_usage / CloudUsageSubmissionAPI.submit)."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from openapi.api.cloud_usage_submission_api import CloudUsageSubmissionApi
from openapi.api.events_api import EventsApi
from openapi.exceptions import BadRequestException, NotFoundException
from openapi.models.cloud_usage_result import CloudUsageResult
from openapi.models.partner_submission_detail import PartnerSubmissionDetail
from openapi.models.submit_cloud_usage_request import SubmitCloudUsageRequest
from openapi.models.usage_window import UsageWindow
from openapi.models.v2_query_events_aggregation_request import V2QueryEventsAggregationRequest
from openapi.models.v2_query_events_aggregation_request_meters_inner import V2QueryEventsAggregationRequestMetersInner
from openapi.models.v2_query_events_aggregation_request_meters_inner_aggregation import (
    V2QueryEventsAggregationRequestMetersInnerAggregation,
)
from openapi.models.v2_query_events_aggregation_request_meters_inner_filters_inner import (
    V2QueryEventsAggregationRequestMetersInnerFiltersInner,
)
from openapi.models.v2_query_events_aggregation_request_meters_inner_filters_inner_value import (
    V2QueryEventsAggregationRequestMetersInnerFiltersInnerValue,
)
from openapi.models.v2_query_events_aggregation_request_period import V2QueryEventsAggregationRequestPeriod
from vayu_sdk import Vayu
from vayu_sdk.clients.vayu_client import VayuClient

from tests.conftest import Account
from tests.metering.factories import event, send
from tests.support import LiveServer

Meter = V2QueryEventsAggregationRequestMetersInner
Agg = V2QueryEventsAggregationRequestMetersInnerAggregation


def aggregation_request(customer: str, group_by: str = "day", **extra: object) -> V2QueryEventsAggregationRequest:
    eu = V2QueryEventsAggregationRequestMetersInnerFiltersInner(
        field="region", operator="eq", value=V2QueryEventsAggregationRequestMetersInnerFiltersInnerValue("eu")
    )
    return V2QueryEventsAggregationRequest(
        customer_id=customer,
        period=V2QueryEventsAggregationRequestPeriod(
            start_time="2026-11-01T00:00:00Z", end_time="2026-11-06T00:00:00Z"
        ),
        meters=[
            Meter(key="calls", event_name="api_call", aggregation=Agg(operator="Count")),
            Meter(
                key="eu_tokens", event_name="api_call", aggregation=Agg(operator="Sum", field="tokens"), filters=[eu]
            ),
        ],
        group_by=group_by,
        **extra,
    )


def seed_usage(api: TestClient) -> None:
    assert api.post("/customers", json={"name": "Acme", "aliases": ["acme", "acme-eu"]}).status_code == 200
    send(
        api,
        [
            event("u1", ts="2026-11-03T08:00:00Z", tokens="1.5", region="eu"),
            event("u2", ts="2026-11-03T09:00:00Z", alias="acme-eu", tokens=2, region="us"),
            event("u3", ts="2026-11-05T09:00:00Z", tokens="0.25", region="eu"),
        ],
    )


def test_usage_over_time_with_the_official_client(live_server: LiveServer, account: Account, api: TestClient) -> None:
    seed_usage(api)
    events = EventsApi(VayuClient(account.api_key, live_server.url).client)
    got = events.v2_query_events_aggregation(aggregation_request("acme", fill_dates=True))
    assert got.group_by == "day"
    assert (got.period.start_time, got.period.end_time) == ("2026-11-01T00:00:00.000Z", "2026-11-06T00:00:00.000Z")
    assert [p.group for p in got.data_points] == [f"2026-11-0{d}" for d in range(1, 6)]
    assert [(p.values["calls"], p.values["eu_tokens"]) for p in got.data_points] == [
        (0, 0),
        (0, 0),
        (2, 1.5),
        (0, 0),
        (1, 0.25),
    ]
    by_event = events.v2_query_events_aggregation(aggregation_request("acme-eu", "event"))
    assert [(p.group, p.values) for p in by_event.data_points] == [
        ("u1", {"calls": 1, "eu_tokens": 1.5}),
        ("u2", {"calls": 1, "eu_tokens": 0}),
        ("u3", {"calls": 1, "eu_tokens": 0.25}),
    ]
    quarter = events.v2_query_events_aggregation(aggregation_request("", "quarter", customer_id_pattern="*"))
    assert [(p.group, p.values) for p in quarter.data_points] == [("2026-Q4", {"calls": 3, "eu_tokens": 1.75})]
    with pytest.raises(NotFoundException):
        events.v2_query_events_aggregation(aggregation_request("nobody"))
    sql = aggregation_request("acme")
    sql.meters[0].sql_select = "SELECT count(*) FROM events"
    with pytest.raises(BadRequestException) as err:
        events.v2_query_events_aggregation(sql)
    assert "never runs a client's SQL" in str(err.value.body)


def cloud_result(n: int, status: str = "ACCEPTED") -> CloudUsageResult:
    key = "vayu-" + "-".join([f"{n:024d}", "b" * 24, "c" * 24, "d" * 24]) + "-1764400000000"
    return CloudUsageResult(
        status=status,
        usage_window=UsageWindow(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 1, 1, tzinfo=UTC)),
        correlation_id=f"corr-{n}",
        idempotency_key=key,
        meter_dimension="API_CALLS",
        accepted_quantity=10 if status == "ACCEPTED" else 0,
        partner_submission={"req": PartnerSubmissionDetail(received_at="2026-11-01T01:00:02Z", status="SUCCESS")},
        quantity_submitted=10.5,
        timestamp_submitted=datetime(2026, 11, 1, 1, 0, 1, tzinfo=UTC),
        aws_customer_identifier="aws-1",
    )


def test_cloud_usage_results_with_the_official_client(
    live_server: LiveServer, account: Account, api: TestClient
) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    request = SubmitCloudUsageRequest(results=[cloud_result(1), cloud_result(2, "REJECTED")], product_code="prod-1")
    assert vayu.cloud_usage_submission.submit(request) == {}
    low = CloudUsageSubmissionApi(VayuClient(account.api_key, live_server.url).client)
    assert low.submit_cloud_usage(request) == {}  # the same keys: stored once
    listed = api.get("/cloudUsageSubmission").json()
    assert listed["total"] == 2
    assert [(r["correlationId"], r["status"], r["quantitySubmitted"]) for r in listed["results"]] == [
        ("corr-1", "ACCEPTED", 10.5),
        ("corr-2", "REJECTED", 10.5),
    ]
    assert listed["results"][0]["usageWindow"] == {
        "start": "2026-11-01T00:00:00.000Z",
        "end": "2026-11-01T01:00:00.000Z",
    }
