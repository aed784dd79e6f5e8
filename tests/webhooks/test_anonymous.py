"""AnonymousCustomer: queued by ingestion, once per alias per UTC day, delivered to a real
HTTP receiver, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import notify
from meterline.webhooks import repository as repo
from tests.conftest import Account
from tests.contracts import factories as f
from tests.metering.factories import event, send
from tests.webhooks.support import drive, receiver


def _subscribe(api: TestClient, url: str, event_type: str = "AnonymousCustomer") -> str:
    resp = api.post("/webhook", json={"callbackUrl": url, "eventType": event_type})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def _anonymous(db: Database, account: Account) -> list[dict[str, object]]:
    with transaction(db, write=False) as conn:
        return [r for r in repo.delivery_rows(conn, account.account_id) if r["event_type"] == "AnonymousCustomer"]


def test_once_per_alias_per_day_across_batches(api: TestClient, db: Database, account: Account) -> None:
    f.customer(api, "Known", aliases=["known"])
    today = datetime.now(UTC).date()
    with receiver() as rx:
        _subscribe(api, rx.url)
        assert drive(db) == 1
        rx.wait_for(1)
        batch = [
            event("1", alias="ghost"),
            event("2", alias="ghost"),
            event("3", alias="known"),
            event("4", alias="ghost-2"),
        ]
        send(api, batch)
        send(api, batch)  # a retried batch: every ref is a duplicate, nothing new
        send(api, [event("5", alias="ghost"), event("6", alias="ghost-3"), event("7", alias="known")])
        assert len(_anonymous(db, account)) == 3
        # the next day, the same alias is announced again (once)
        tomorrow = today + timedelta(days=1)
        with transaction(db) as conn:
            acc, aliases = account.account_id, ["ghost", "known", "ghost"]
            assert notify.anonymous_aliases(conn, account_id=acc, aliases=aliases, day=tomorrow) == 1
            assert notify.anonymous_aliases(conn, account_id=acc, aliases=aliases, day=tomorrow) == 0
            assert notify.anonymous_aliases(conn, account_id=acc, aliases=aliases, day=now_us()) == 0  # done today
        assert drive(db) == 4
        got = rx.wait_for(5)
        assert drive(db, now=now_us() + 3_600_000_000) == 0
        assert len(rx.received) == 5
    bodies = [g.json for g in got[1:]]
    assert {b["type"] for b in bodies} == {"AnonymousCustomer"}
    assert sorted((b["data"]["alias"], b["data"]["day"]) for b in bodies) == [
        ("ghost", today.isoformat()),
        ("ghost", tomorrow.isoformat()),
        ("ghost-2", today.isoformat()),
        ("ghost-3", today.isoformat()),
    ]
    assert all(set(b["data"]) == {"alias", "day"} for b in bodies)


def test_no_subscription_queues_nothing(api: TestClient, db: Database, account: Account) -> None:
    _subscribe(api, "https://hooks.example/x", "Overage")  # another type
    send(api, [event("1", alias="ghost"), event("2", alias="other")])
    assert _anonymous(db, account) == []
    with transaction(db) as conn:
        assert notify.anonymous_aliases(conn, account_id=account.account_id, aliases=["ghost"], day=now_us()) == 0
        done = repo.existing_dedupe_keys(conn, account.account_id, "AnonymousCustomer", "", ["ghost"])
    assert done == set()
    # subscribing later does not announce what arrived before; the next batch does
    _subscribe(api, "https://hooks.example/x")
    send(api, [event("3", alias="ghost")])
    assert [r["callback_url"] for r in _anonymous(db, account)] == ["https://hooks.example/x"]


def test_alias_taken_by_a_customer_is_not_anonymous(api: TestClient, db: Database, account: Account) -> None:
    _subscribe(api, "https://hooks.example/x")
    f.customer(api, "Later", aliases=["late"])
    send(api, [event("1", alias="late")])
    assert _anonymous(db, account) == []
