"""The products-consumptions read cache (consumption/cache.py): a customer's answer is
served again only while one statement finds its fingerprint unchanged (PostgreSQL: row
versions, fold generations and backlog; SQLite: the reader's data_version) and the instant
asked for is one it holds at; every change made through another server (its own app, pool
and connections) shows at once, on both backends. Reads are compared with the figures the
events give, and counted by outcome (meterline_consumption_reads)."""

import time
from typing import Any

from fastapi.testclient import TestClient

from meterline.consumption import cache
from meterline.db.engine import Database
from meterline.kit import metrics
from tests.conftest import Account
from tests.consumption.factories import iso, sleep_past, two_meter_customer
from tests.contracts import factories as f
from tests.metering.factories import event, fold_backlog, send

AT = "2026-03-15T12:30:00Z"


def _outcomes() -> dict[str, float]:
    return {
        s.labels["outcome"]: s.value
        for m in metrics.CONSUMPTION_READS.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }


def _read(api: TestClient, url: str, at: str | None = AT) -> tuple[dict[str, Any], str]:
    """The read's consumed amounts by product, and how it was answered."""
    before = _outcomes()
    resp = api.get(url, params={} if at is None else {"at": at})
    assert resp.status_code == 200, resp.text
    after = _outcomes()
    [how] = [k for k in after if after[k] != before.get(k, 0)]
    return {e["productName"]: e["consumedAmount"] for e in resp.json()["productsConsumptions"]}, how


def test_repeated_reads_served_until_a_change(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api, tokens_units=100)
    cid = s["cid"]
    send(api, [event("t1", ts="2026-03-02T00:00:00Z", name="tokens", value=4)])
    url = f"/customers/products-consumptions/{cid}"
    alias_url = "/customers/products-consumptions/alias/acme"
    cache.clear()
    assert _read(api, url) == ({"Tokens": 4, "Users": 0}, "computed")
    assert _read(api, url) == ({"Tokens": 4, "Users": 0}, "cached")
    assert _read(api, alias_url) == ({"Tokens": 4, "Users": 0}, "computed")
    assert _read(api, alias_url) == ({"Tokens": 4, "Users": 0}, "cached")
    # Another instant is another answer: computed, and kept instead (one per customer) once
    # computed in the snapshot of its fingerprint (a read predicted from the other instant's
    # statements starts over in a new transaction: not kept).
    for at, tokens in (("2026-03-01T00:00:00Z", 0), (AT, 4)):
        answers = [_read(api, url, at=at) for _ in range(3)]
        assert {a[0]["Tokens"] for a in answers} == {tokens}
        assert answers[0][1] == "computed" and answers[2][1] == "cached"

    # The backlog folded meanwhile, and one more event stored and folded: the backlog's count
    # is what it was when the answer was computed; the alias's generation is not.
    fold_backlog(db)  # SQLite: nothing to fold (its ingestion merged), nothing written
    assert _read(api, url) == ({"Tokens": 4, "Users": 0}, "cached" if db.is_sqlite else "stale")
    assert _read(api, url) == ({"Tokens": 4, "Users": 0}, "cached")
    send(other, [event("t2", ts="2026-03-03T00:00:00Z", name="tokens", value=5)])
    fold_backlog(db)
    assert _read(api, url) == ({"Tokens": 9, "Users": 0}, "stale")

    changes = [
        # a definition of each kind the read uses, through the other server
        (lambda: other.post("/credits/grant", json={"customerId": cid, "creditAmount": 5}), {"Tokens": 9, "Users": 0}),
        (
            lambda: other.post(
                "/measurements",
                json={
                    "customerId": cid,
                    "meterId": s["tokens"],
                    "usageDate": {"year": 2026, "month": 3, "day": 9},
                    "value": 2,
                },
            ),
            {"Tokens": 11, "Users": 0},
        ),
        (lambda: other.post("/events/delete-by-refs", json={"refs": ["t1"]}), {"Tokens": 7, "Users": 0}),
        (
            lambda: other.put(f"/catalogProducts/{s['up']}", json={"name": "People"}),
            {"Tokens": 7, "People": 0},
        ),
        (lambda: other.delete(f"/catalogProducts/{s['up']}"), {"Tokens": 7}),
    ]
    for change, expected in changes:
        assert _read(api, url)[1] == "cached"
        resp = change()
        assert resp.status_code == 200, resp.text
        assert _read(api, url) == (expected, "stale")

    # The customer deleted elsewhere: not found, not served.
    assert other.delete(f"/customers/{cid}").status_code == 200
    assert api.get(url, params={"at": AT}).status_code == 404
    assert api.get(alias_url, params={"at": AT}).status_code == 404


def test_a_changed_meter_is_read_from_its_events(api: TestClient, other: TestClient, db: Database) -> None:
    s = two_meter_customer(api, tokens_units=100)
    cid = s["cid"]
    send(
        api,
        [
            event("t1", ts="2026-03-02T00:00:00Z", name="tokens", value=4),
            event("t2", ts="2026-03-02T01:00:00Z", name="tokens", value=6),
        ],
    )
    url = f"/customers/products-consumptions/{cid}"
    assert _read(api, url)[0] == {"Tokens": 10, "Users": 0}
    assert _read(api, url)[1] == "cached"
    body = {"name": "Tokens", "eventName": "tokens", "aggregationMethod": {"operator": "Count"}}
    resp = other.put(f"/meters/{s['tokens']}", json=body)
    assert resp.status_code == 200, resp.text
    assert _read(api, url)[0] == {"Tokens": 2, "Users": 0}


def test_reads_of_now_follow_the_clock(api: TestClient, db: Database) -> None:
    """An answer for "now" is served only before the first instant time alone changes it:
    an event dated in the future, a contract's end, a contract's start."""
    t0 = time.time()
    soon, later = t0 + 1.5, t0 + 3.0
    cid = two_meter_customer(api, tokens_units=100, start=iso(t0 - 86_400), endDate=iso(later))["cid"]
    send(
        api,
        [event("now", ts=iso(t0 - 1), name="tokens", value=1), event("f", ts=iso(soon), name="tokens", value=2)],
    )
    url = f"/customers/products-consumptions/{cid}"
    assert _read(api, url, at=None) == ({"Tokens": 1, "Users": 0}, "computed")
    assert _read(api, url, at=None) == ({"Tokens": 1, "Users": 0}, "cached")
    sleep_past(soon)  # the future-dated event counts from now on
    assert _read(api, url, at=None) == ({"Tokens": 3, "Users": 0}, "computed")
    assert _read(api, url, at=None) == ({"Tokens": 3, "Users": 0}, "cached")
    # A second contract starting soon: its line appears at its start.
    f.contract(api, cid, startDate=iso(later + 1.0), products=[f.usage_line(None)])
    assert _read(api, url, at=None)[0] == {"Tokens": 3, "Users": 0}
    sleep_past(later)  # the first contract ends: no line in force
    assert _read(api, url, at=None) == ({}, "computed")
    assert _read(api, url, at=None) == ({}, "cached")


def test_reads_of_now_see_a_contract_start(api: TestClient, db: Database) -> None:
    t0 = time.time()
    start = t0 + 1.5
    cid = two_meter_customer(api, tokens_units=100, start=iso(start))["cid"]
    url = f"/customers/products-consumptions/{cid}"
    assert _read(api, url, at=None) == ({}, "computed")
    assert _read(api, url, at=None) == ({}, "cached")
    sleep_past(start)
    assert _read(api, url, at=None) == ({"Tokens": 0, "Users": 0}, "computed")


def test_what_invalidates_is_per_customer_on_postgresql_per_database_on_sqlite(
    api: TestClient, other: TestClient, db: Database, account: Account
) -> None:
    """PostgreSQL fingerprints the customer's own rows (and the account's catalog and
    meters): another customer's events leave its answer served. SQLite's data_version
    counts every commit to the file: any write elsewhere makes it computed again."""
    cid = two_meter_customer(api, tokens_units=100)["cid"]
    f.customer(api, "Else", aliases=["else"])
    url = f"/customers/products-consumptions/{cid}"
    assert _read(api, url)[1] == "computed"
    assert _read(api, url)[1] == "cached"
    assert (account.account_id, "id", cid) in cache._ENTRIES
    send(other, [event("e1", ts="2026-03-02T00:00:00Z", name="tokens", alias="else", value=4)])
    fold_backlog(db)
    assert _read(api, url) == ({"Tokens": 0, "Users": 0}, "stale" if db.is_sqlite else "cached")
