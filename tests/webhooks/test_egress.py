"""Webhook egress guard, on SQLite and PostgreSQL: callbacks to internal addresses are refused
at subscribe and, against the address actually connected, at delivery, unless
METERLINE_WEBHOOK_ALLOWED_NETWORKS allows them."""

import ipaddress
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import egress
from meterline.webhooks import repository as repo
from meterline.webhooks.retry import US
from tests.conftest import Account, login
from tests.webhooks.support import FAST, drive, receiver

INTERNAL_URLS = [
    "http://127.0.0.1/hook",  # loopback
    "http://127.1.2.3:8080/hook",
    "http://localhost:9/hook",  # a name resolving to loopback
    "http://LOCALHOST./hook",
    "http://metadata.localhost/hook",
    "http://10.0.0.1/hook",  # private
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # shared address space (carrier NAT)
    "http://169.254.169.254/latest/meta-data/",  # link-local: the cloud metadata service
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://0.0.0.0:8000/hook",  # unspecified
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fc00::1]/hook",  # unique local (fc00::/7)
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",  # link-local
    "http://[ff02::1]/hook",  # multicast
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:169.254.169.254]/hook",
    "http://[::ffff:10.0.0.1]/hook",
]


@pytest.fixture
def strict_api(settings: Settings, db: Database, account: Account) -> Iterator[TestClient]:
    """A client of an app with the default setting: no internal network allowed."""
    app = create_app(settings.model_copy(update={"webhook_allowed_networks": ""}), db=db)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        yield c


def test_subscribe_refuses_internal_addresses(strict_api: TestClient) -> None:
    for url in INTERNAL_URLS:
        resp = strict_api.post("/webhook", json={"callbackUrl": url, "eventType": "Overage"})
        assert resp.status_code == 400, (url, resp.text)
        err = resp.json()
        assert (err["type"], err["code"], err["param"]) == ("invalid_request_error", "validation_failed", "callbackUrl")
        assert "METERLINE_WEBHOOK_ALLOWED_NETWORKS" in err["message"]
    assert strict_api.get("/webhooks").json()["total"] == 0


def test_subscribe_accepts_public_addresses_and_names_it_cannot_resolve_now(strict_api: TestClient) -> None:
    for url in ("http://93.184.216.34/hook", "https://[2606:2800:220:1::1]/hook", "https://e.com/hook"):
        resp = strict_api.post("/webhook", json={"callbackUrl": url, "eventType": "Overage"})
        assert resp.status_code == 200, (url, resp.text)


def test_the_setting_allows_chosen_networks(settings: Settings, db: Database, account: Account) -> None:
    def subscribe(allowed: str, url: str) -> int:
        app = create_app(settings.model_copy(update={"webhook_allowed_networks": allowed}), db=db)
        with TestClient(app) as c:
            c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
            return c.post("/webhook", json={"callbackUrl": url, "eventType": "Overage"}).status_code

    assert subscribe("10.0.0.0/8", "http://127.0.0.1:1/a") == 400
    assert subscribe("10.0.0.0/8, 127.0.0.1/32", "http://127.0.0.1:1/a") == 200
    assert subscribe("127.0.0.0/8", "http://[::ffff:127.0.0.1]:1/b") == 200  # mapped: its IPv4 address counts
    assert subscribe("fc00::/7", "http://[fd00::5]/c") == 200
    assert subscribe("fc00::/7", "http://169.254.169.254/d") == 400


def _deliveries(db: Database, account: Account) -> list[dict[str, object]]:
    with transaction(db, write=False) as conn:
        return repo.delivery_rows(conn, account.account_id)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_delivery_checks_the_address_it_connects_to(api: TestClient, db: Database, account: Account, host: str) -> None:
    """Subscribed while allowed; the setting changed since: nothing is sent, the attempt says why."""
    with receiver() as rx:
        url = rx.url.replace("127.0.0.1", host)
        allowed = "127.0.0.0/8, ::1/128"
        app = create_app(api.app.state.settings.model_copy(update={"webhook_allowed_networks": allowed}), db=db)  # type: ignore[attr-defined]
        with TestClient(app) as c:
            c.headers["Authorization"] = api.headers["Authorization"]
            assert c.post("/webhook", json={"callbackUrl": url, "eventType": "InvoiceApproved"}).status_code == 200
        assert drive(db, config=replace(FAST, allowed_networks="")) == 1
        assert drive(db, config=replace(FAST, allowed_networks="10.0.0.0/8")) == 0  # not due yet
        [row] = _deliveries(db, account)
        assert row["status"] == "pending" and row["last_status"] is None
        assert str(row["last_error"]).startswith("egress refused:") and "ALLOWED_NETWORKS" in str(row["last_error"])
        assert drive(db, now=now_us() + 3600 * US, config=replace(FAST, allowed_networks="192.168.0.0/16")) == 1
        assert rx.received == []  # never connected
        assert drive(db, now=now_us() + 7200 * US, config=replace(FAST, allowed_networks=allowed)) == 1
        assert len(rx.wait_for(1)) == 1  # allowed again: delivered
        [row] = _deliveries(db, account)
        assert row["status"] == "delivered"


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("::ffff:192.168.0.1", True),
        ("fc00::1", True),
        ("0.0.0.0", True),  # noqa: S104
        ("198.18.0.1", True),  # benchmarking
        ("192.0.2.1", True),  # documentation
    ],
)
def test_is_internal(address: str, internal: bool) -> None:
    assert egress.is_internal(ipaddress.ip_address(address)) is internal


def test_a_malformed_allow_list_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="METERLINE_WEBHOOK_ALLOWED_NETWORKS"):
        egress.parse_networks("127.0.0.0/8, not-a-network")
    assert egress.parse_networks(" ") == ()
