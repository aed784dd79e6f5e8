"""Claims and leases of the delivery worker, on SQLite and PostgreSQL."""

import threading
from dataclasses import replace

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.kit.times import now_us
from meterline.webhooks import service
from meterline.webhooks.retry import US
from meterline.webhooks.worker import Outcome, claim, record
from tests.conftest import Account
from tests.webhooks.support import FAST


def _subscribe(api: TestClient) -> str:
    resp = api.post("/webhook", json={"callbackUrl": "https://nowhere.example/hook", "eventType": "Overage"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


def test_a_dead_workers_lease_expires_and_its_late_outcome_is_ignored(api: TestClient, db: Database) -> None:
    _subscribe(api)  # its PingTest is the one pending delivery
    t0 = now_us()
    token_a, [item] = claim(db, now=t0, config=FAST)  # worker A claims, then "dies"
    assert item.attempts == 1 and item.private_pem and item.body.startswith(b'{"type":"PingTest"')
    assert claim(db, now=t0 + 29 * US, config=FAST)[1] == []  # leased for 30 s
    token_b, [again] = claim(db, now=t0 + 30 * US, config=FAST)
    assert again.id == item.id and again.attempts == 2 and token_b != token_a
    policy = FAST.retry
    assert record(db, token_a, item, Outcome(200, None), now=t0 + 31 * US, policy=policy, rand=0.5) == "stale"
    assert claim(db, now=t0 + 31 * US, config=FAST)[1] == []  # still B's
    assert record(db, token_b, again, Outcome(500, "HTTP 500"), now=t0 + 32 * US, policy=policy, rand=0.0) == "pending"
    # released with a backoff: due again 10 s (2nd failure, jitter 0.5) later, for anyone
    assert claim(db, now=t0 + 41 * US, config=FAST)[1] == []
    token_c, [third] = claim(db, now=t0 + 42 * US, config=FAST)
    assert third.attempts == 3
    assert record(db, token_c, third, Outcome(204, None), now=t0 + 43 * US, policy=policy, rand=0.5) == "delivered"
    assert claim(db, now=t0 + 10_000 * US, config=FAST)[1] == []


def test_concurrent_claimers_never_share_a_delivery(api: TestClient, db: Database, account: Account) -> None:
    _subscribe(api)
    with transaction(db) as conn:
        for i in range(59):
            service.enqueue(conn, account_id=account.account_id, event_type="Overage", data={"i": i})
    config = replace(FAST, concurrency=4)
    now = now_us() + US
    claimed: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(slot: int) -> None:
        try:
            while True:
                _, items = claim(db, now=now, config=config)
                if not items:
                    return
                claimed[slot].extend(i.id for i in items)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    every = [d for ids in claimed for d in ids]
    assert len(every) == 60 and len(set(every)) == 60
