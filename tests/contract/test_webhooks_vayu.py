"""The official client subscribes a webhook; the in-process worker delivers the PingTest signed."""

from collections.abc import Iterator

import httpx
import pytest
from openapi.exceptions import BadRequestException
from openapi.models.notification_event_type import NotificationEventType
from vayu_sdk import Vayu

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database
from tests.conftest import Account
from tests.support import LiveServer, start_live_server
from tests.webhooks.support import FAST, receiver, verify


@pytest.fixture
def worker_server(settings: Settings, db: Database) -> Iterator[LiveServer]:
    """The real app under uvicorn with its background worker running."""
    app = create_app(settings.model_copy(update={"background_jobs": True}), db=db)
    app.state.webhook_worker_config = FAST
    server = start_live_server(app)
    yield server
    server.stop()


def test_subscribe_with_the_official_client_and_get_a_signed_ping(worker_server: LiveServer, account: Account) -> None:
    vayu = Vayu(api_key=account.api_key, host=worker_server.url)
    with receiver() as rx:
        assert vayu.webhooks.subscribe(rx.url, NotificationEventType.INVOICEAPPROVED) is None  # a 200
        vayu.webhooks.subscribe_to_commitment_usage_crossed(rx.url, 0.8)
        got = rx.wait_for(2, timeout=20)
    token = httpx.post(f"{worker_server.url}/login", json={"refreshToken": account.api_key}).json()["accessToken"]
    listed = httpx.get(f"{worker_server.url}/webhooks", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(w["eventType"], w["threshold"]) for w in listed["webhooks"]] == [
        ("InvoiceApproved", None),
        ("CommitmentUsageCrossed", 0.8),
    ]
    key = httpx.get(f"{worker_server.url}/webhooks/public-key", headers={"Authorization": f"Bearer {token}"})
    for g in got:
        verify(key.json()["publicKey"], g)
        assert g.json["type"] == "PingTest"
    assert sorted(g.json["data"]["eventType"] for g in got) == ["CommitmentUsageCrossed", "InvoiceApproved"]

    with pytest.raises(BadRequestException):
        vayu.webhooks.subscribe("ftp://example.com/hook", NotificationEventType.OVERAGE)
