"""Idempotency-Key on the POSTs that create objects or move value, on SQLite and PostgreSQL:
a retry answers the first answer (once), another request with the key is refused, concurrent
requests with one key do the work once, across app instances and server processes."""

import os
import threading
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.db.tables.idempotency import idempotency_keys
from meterline.idempotency import service
from meterline.idempotency.rules import TTL_US
from meterline.kit.idempotency import IDEMPOTENT_POSTS
from meterline.kit.times import now_us
from tests.conftest import Account, login, make_account
from tests.contracts import factories as f
from tests.support import free_port, start_cli_server, start_live_server


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def _ledger(api: Any, cid: str) -> list[tuple[str, Any]]:
    entries = api.get("/credits", params={"customerId": cid}).json()["entries"]
    return [(e["type"], e["amount"]) for e in entries]


def test_a_retried_grant_and_deduct_move_value_once(api: TestClient) -> None:
    cid = f.customer(api)
    body = {"customerId": cid, "creditAmount": 10}
    first = api.post("/credits/grant", json=body, headers=_key("grant-1"))
    again = api.post("/credits/grant", json=body, headers=_key("grant-1"))  # the client timed out, retries
    assert first.status_code == again.status_code == 200, again.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    deduct = {"customerId": cid, "creditAmount": 4}
    d1 = api.post("/credits/deduct", json=deduct, headers=_key("deduct-1"))
    d2 = api.post("/credits/deduct", json=deduct, headers=_key("deduct-1"))
    assert d1.status_code == d2.status_code == 200 and d2.content == d1.content
    assert d2.headers["Idempotent-Replayed"] == "true"
    assert _ledger(api, cid) == [("Grant", 10), ("Deduct", 4)]
    assert '"balance":6' in api.get("/credits", params={"customerId": cid}).text


def test_a_retried_contract_create_creates_one_contract(api: TestClient) -> None:
    cid = f.customer(api)
    pid = f.product(api)
    body = {
        "name": "C",
        "customerId": cid,
        "startDate": "2026-01-31T00:00:00.000Z",
        "products": [f.usage_line(pid)],
    }
    first = api.post("/contracts", json=body, headers=_key("contract-1"))
    assert first.status_code == 200, first.text
    # same document, other key order and spacing: the same request
    again = api.post(
        "/contracts",
        content=httpx.Request("POST", "/", json=dict(reversed(list(body.items())))).content.replace(b",", b", "),
        headers={**_key("contract-1"), "content-type": "application/json"},
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    contracts = api.get("/contracts", params={"customerId": cid}).json()["contracts"]
    assert [c["id"] for c in contracts] == [first.json()["contract"]["id"]]


def test_the_same_key_for_another_request_is_400(api: TestClient) -> None:
    first = api.post("/customers", json={"name": "A"}, headers=_key("k"))
    assert first.status_code == 200
    for path, body in (("/customers", {"name": "B"}), ("/meters", {"name": "A"})):
        resp = api.post(path, json=body, headers=_key("k"))
        assert resp.status_code == 400, resp.text
        err = resp.json()
        assert (err["type"], err["code"], err["param"]) == (
            "invalid_request_error",
            "idempotency_key_reused",
            "Idempotency-Key",
        )
        assert "Idempotency-Key" in err["message"]
    assert api.get("/customers").json()["total"] == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "é", " lead", "trail "])
def test_a_malformed_key_is_400(api: TestClient, key: str) -> None:
    resp = api.post("/customers", json={"name": "A"}, headers={"Idempotency-Key": key.encode("utf-8")})
    assert resp.status_code == 400, resp.text
    assert (resp.json()["code"], resp.json()["param"]) == ("parameter_invalid", "Idempotency-Key")
    assert api.get("/customers").json()["total"] == 0


def test_the_longest_key_and_no_key(api: TestClient) -> None:
    longest = "k" * 255
    assert api.post("/customers", json={"name": "A"}, headers=_key(longest)).status_code == 200
    assert api.post("/customers", json={"name": "A"}, headers=_key(longest)).headers["Idempotent-Replayed"] == "true"
    assert api.post("/customers", json={"name": "A"}).status_code == 200  # no key: no idempotency
    assert api.get("/customers").json()["total"] == 2


def test_keys_are_per_account(app: FastAPI, api: TestClient, db: Database) -> None:
    other = make_account(db, "other")
    with TestClient(app) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        a = api.post("/customers", json={"name": "A"}, headers=_key("shared"))
        b = c2.post("/customers", json={"name": "A"}, headers=_key("shared"))
        assert a.status_code == b.status_code == 200
        assert "idempotent-replayed" not in b.headers
        assert a.json()["customer"]["id"] != b.json()["customer"]["id"]
        assert c2.get("/customers").json()["total"] == 1


def test_a_failed_request_leaves_no_key(api: TestClient) -> None:
    cid = f.customer(api)
    over = {"customerId": cid, "creditAmount": 5}
    refused = api.post("/credits/deduct", json=over, headers=_key("d"))
    assert refused.status_code == 400
    assert api.post("/credits/grant", json={"customerId": cid, "creditAmount": 5}).status_code == 200
    retried = api.post("/credits/deduct", json=over, headers=_key("d"))
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert _ledger(api, cid) == [("Grant", 5), ("Deduct", 5)]


def test_every_creating_post_takes_the_header(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {p for p, ops in paths.items() if "post" in ops} >= IDEMPOTENT_POSTS
    for path in IDEMPOTENT_POSTS:
        names = [p["name"] for p in paths[path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path
    assert "Idempotency-Key" not in [p["name"] for p in paths["/events"]["post"].get("parameters", [])]


def test_a_key_older_than_24_hours_is_free_again_and_purged(api: TestClient, db: Database, account: Account) -> None:
    assert api.post("/customers", json={"name": "A"}, headers=_key("old")).status_code == 200
    assert api.post("/customers", json={"name": "A"}, headers=_key("stale")).status_code == 200
    with transaction(db) as conn:
        conn.execute(sa.update(idempotency_keys).values(created_at=now_us() - TTL_US - 1))
    resp = api.post("/customers", json={"name": "B"}, headers=_key("old"))
    assert resp.status_code == 200 and "idempotent-replayed" not in resp.headers
    with transaction(db) as conn:
        service._purge_clock._last.pop(account.account_id, None)  # as if the last purge was long ago
        service.begin(conn, account_id=account.account_id, key="new", request_hash="0" * 64, now=now_us())
        keys = set(conn.execute(sa.select(idempotency_keys.c.key)).scalars())
    assert keys == {"old", "new"}  # "stale" purged, "old" taken over by the new request


def _race(base_urls: list[str], token: str, path: str, body: dict[str, Any], key: str, n: int) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    out: list[httpx.Response] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        with httpx.Client(base_url=base_urls[i % len(base_urls)], timeout=60) as c:
            barrier.wait()
            resp = c.post(path, json=body, headers={"Authorization": f"Bearer {token}", **_key(key)})
        with lock:
            out.append(resp)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


def _setup_customer(base_url: str, account: Account) -> tuple[str, str]:
    token = httpx.post(f"{base_url}/login", json={"refreshToken": account.api_key}).json()["accessToken"]
    resp = httpx.post(f"{base_url}/customers", json={"name": "Acme"}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return token, str(resp.json()["customer"]["id"])


def _assert_granted_once(answers: list[httpx.Response], base_url: str, token: str, cid: str, n: int) -> None:
    assert len(answers) == n and {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1  # every one answers the one grant
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == n - 1
    entries = httpx.get(f"{base_url}/credits", params={"customerId": cid}, headers={"Authorization": f"Bearer {token}"})
    assert [(e["type"], e["amount"]) for e in entries.json()["entries"]] == [("Grant", 7)]


def test_concurrent_requests_with_one_key_grant_once(app: FastAPI, account: Account) -> None:
    server = start_live_server(app)
    try:
        token, cid = _setup_customer(server.url, account)
        answers = _race([server.url], token, "/credits/grant", {"customerId": cid, "creditAmount": 7}, "race", 8)
        _assert_granted_once(answers, server.url, token, cid, 8)
    finally:
        server.stop()


def test_one_key_across_two_app_instances_on_one_database(settings: Settings, db: Database, account: Account) -> None:
    # two apps, each with its own engine (as two servers would have), on one database
    servers = [start_live_server(create_app(settings.model_copy())) for _ in range(2)]
    try:
        urls = [s.url for s in servers]
        token, cid = _setup_customer(urls[0], account)
        body = {"customerId": cid, "creditAmount": 7}
        first = httpx.post(
            f"{urls[0]}/credits/grant", json=body, headers={"Authorization": f"Bearer {token}", **_key("x")}
        )
        retry = httpx.post(
            f"{urls[1]}/credits/grant", json=body, headers={"Authorization": f"Bearer {token}", **_key("x")}
        )
        assert first.status_code == retry.status_code == 200
        assert retry.headers["Idempotent-Replayed"] == "true" and retry.content == first.content
        answers = _race(urls, token, "/credits/grant", body, "x", 6)
        assert all(r.headers.get("idempotent-replayed") == "true" for r in answers)
        _assert_granted_once([first, *answers], urls[1], token, cid, 7)
    finally:
        for s in servers:
            s.stop()


def test_concurrent_requests_to_two_server_processes_grant_once(
    database_url: str, db: Database, account: Account
) -> None:
    env = {
        **os.environ,
        "METERLINE_DATABASE_URL": database_url,
        "METERLINE_JWT_SECRET": "test-secret-" + "x" * 32,
        "METERLINE_BACKGROUND_JOBS": "0",
        "METERLINE_RATE_LIMIT_PER_SECOND": "100000",
        "METERLINE_RATE_LIMIT_BURST": "100000",
    }
    ports = [free_port(), free_port()]
    procs = [start_cli_server(env, port) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        token, cid = _setup_customer(urls[0], account)
        answers = _race(urls, token, "/credits/grant", {"customerId": cid, "creditAmount": 7}, "procs", 8)
        _assert_granted_once(answers, urls[1], token, cid, 8)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def test_migration_0012_downgrades_and_upgrades(db: Database) -> None:
    from alembic import command

    from meterline.db.migrate import alembic_config, upgrade

    def tables() -> set[str]:
        with db.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    assert "idempotency_keys" in tables()
    command.downgrade(alembic_config(db), "0012_idempotency_keys-1")  # the revision before it
    assert "idempotency_keys" not in tables()
    upgrade(db)
    assert "idempotency_keys" in tables()
