"""The official client (vayu-py 0.3.11) against a real server: events and meters."""

from datetime import UTC, datetime

import httpx
import pytest
from openapi.exceptions import NotFoundException
from openapi.models.aggregation_method import AggregationMethod
from openapi.models.aggregation_operator import AggregationOperator
from openapi.models.event import Event
from vayu_sdk import Vayu

from tests.conftest import Account
from tests.support import LiveServer


def _create_meter(server: LiveServer, key: str) -> str:
    token = httpx.post(f"{server.url}/login", json={"refreshToken": key}).json()["accessToken"]
    resp = httpx.post(
        f"{server.url}/meters",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": "Tokens", "eventName": "llm", "aggregationMethod": {"operator": "Sum", "field": "usage.tokens"}},
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["meter"]["id"])


def test_events_and_meters_with_the_official_client(live_server: LiveServer, account: Account) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    meter_id = _create_meter(live_server, account.api_key)
    vayu.customers.create(name="Acme", external_id="acme-1", aliases=["acme"])
    when = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    events = [
        Event(name="llm", timestamp=when, customer_alias="acme", ref=f"ref-{i}", data={"usage": {"tokens": 0.1}})
        for i in range(10)
    ]
    sent = vayu.events.send(events)
    assert len(sent.valid_events) == 10 and sent.invalid_events == []
    again = vayu.events.send(events[:1])
    assert again.valid_events == [] and again.invalid_events[0].error == "Event ref already exists."

    dry = vayu.events.dry_run(
        [Event(name="llm", timestamp=when, customer_alias="acme", ref="dry", data={"usage": {"tokens": 7}})]
    )
    item = dry.events[0]
    assert item.event.account_id == account.account_id and item.matched_customer
    assert [(m.name, m.value) for m in item.meter_with_values] == [("Tokens", 7)]

    got = vayu.events.get("ref-3").event
    assert got.ref == "ref-3" and got.customer_alias == "acme" and got.timestamp == when
    assert got.data == {"usage": {"tokens": 0.1}}
    with pytest.raises(NotFoundException):
        vayu.events.get("dry")

    listed = vayu.events.query(
        start_time=datetime(2026, 1, 1, tzinfo=UTC), end_time=datetime(2026, 2, 1, tzinfo=UTC), event_name="llm"
    )
    assert listed.total == 10 and not listed.has_more and len(listed.events) == 10

    deleted = vayu.events.delete_by_refs(["ref-0", "ref-1", "unknown"]).events
    assert sorted(e.ref for e in deleted) == ["ref-0", "ref-1"] and all(e.deleted_at for e in deleted)
    one = vayu.events.delete("ref-2").event
    assert one.ref == "ref-2" and one.deleted_at
    with pytest.raises(NotFoundException):
        vayu.events.delete("ref-2")

    meters = vayu.meters.list()
    assert [m.id for m in meters.meters] == [meter_id] and meters.total == 1 and not meters.has_more
    got_meter = vayu.meters.get(meter_id).meter
    assert got_meter.aggregation_method.operator == AggregationOperator.SUM
    # our extension `rebuild` is kept aside by the client's model, which parses the rest
    assert got_meter.additional_properties["rebuild"]["status"] == "done"
    updated = vayu.meters.update(
        meter_id, aggregation_method=AggregationMethod(operator=AggregationOperator.COUNT)
    ).meter
    assert updated.name == "Tokens" and updated.aggregation_method.operator == AggregationOperator.COUNT
    assert updated.additional_properties["rebuild"]["status"] == "pending"  # events stored: rebuilt in the background
    gone = vayu.meters.delete(meter_id).meter
    assert gone.id == meter_id and gone.deleted_at
    with pytest.raises(NotFoundException):
        vayu.meters.get(meter_id)
