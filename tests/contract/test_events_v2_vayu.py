"""The official client's v2 event calls (openapi.api.EventsApi.v2_*) against a real server."""

from datetime import UTC, datetime

import pytest
from openapi.api.events_api import EventsApi
from openapi.exceptions import NotFoundException
from openapi.models.event import Event
from openapi.models.v2_delete_events_by_refs_request import V2DeleteEventsByRefsRequest
from openapi.models.v2_events_dry_run_request import V2EventsDryRunRequest
from openapi.models.v2_send_events_request import V2SendEventsRequest
from vayu_sdk.clients.vayu_client import VayuClient

from tests.conftest import Account
from tests.support import LiveServer


def test_v2_events_round_trip(live_server: LiveServer, account: Account) -> None:
    api = EventsApi(VayuClient(account.api_key, live_server.url).client)
    when = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    events = [Event(name="call", timestamp=when, customer_alias="acme", ref=f"v2-{i}", data={"n": i}) for i in range(3)]
    sent = api.v2_send_events(V2SendEventsRequest(events=events))
    assert [e.ref for e in sent.valid_events] == ["v2-0", "v2-1", "v2-2"] and sent.invalid_events == []
    dup = api.v2_send_events(V2SendEventsRequest(events=events[:1]))
    assert dup.valid_events == [] and dup.invalid_events[0].error == "Event ref already exists."

    dry = api.v2_send_events_dry_run(V2EventsDryRunRequest(events=[events[0]]))
    assert len(dry.events) == 1

    got = api.v2_get_event_by_ref_id("v2-1").event
    assert got.ref == "v2-1" and got.data == {"n": 1}
    page = api.v2_query_events(
        start_time=datetime(2026, 2, 1, tzinfo=UTC), end_time=datetime(2026, 2, 2, tzinfo=UTC), event_name="call"
    )
    assert page.total == 3 and sorted(e.ref for e in page.events) == ["v2-0", "v2-1", "v2-2"]

    assert api.v2_delete_event_by_ref_id("v2-0").event.ref == "v2-0"
    deleted = api.v2_delete_events_by_refs(V2DeleteEventsByRefsRequest(refs=["v2-1", "v2-2"])).events
    assert sorted(e.ref for e in deleted) == ["v2-1", "v2-2"]
    with pytest.raises(NotFoundException):
        api.v2_get_event_by_ref_id("v2-1")
