"""The consumption read predicts its statements from the customer's previous read in the
process and, on PostgreSQL, fetches them ahead in one round trip (consumption.service._Seen,
db.raw.prefetched), which also ends the transaction when the last prediction held (a miss
then starts the read over). The prediction is never an answer: after definitions and data change
through another server (its own app, pool and connections), every read equals a read
with nothing predicted, on SQLite and PostgreSQL. The reads right after each change go
through the read cache (consumption/cache.py: on PostgreSQL the last answer, checked by a
fingerprint); the others start with it empty, to compute and predict."""

from typing import Any

from fastapi.testclient import TestClient

from meterline.consumption import cache, service
from meterline.db.engine import Database, transaction
from meterline.db.raw import Recorder, fetch, prefetched, recording
from tests.conftest import Account
from tests.consumption.factories import two_meter_customer
from tests.contracts import factories as f
from tests.metering.factories import event, send

AT = "2026-03-15T12:30:00Z"


def _read(api: TestClient, url: str) -> list[dict[str, Any]]:
    resp = api.get(url, params={"at": AT})
    assert resp.status_code == 200, resp.text
    return resp.json()["productsConsumptions"]  # type: ignore[no-any-return]


def _computed(api: TestClient, url: str) -> list[dict[str, Any]]:
    """_read with no cached answer to serve (consumption/cache.py): computed, predicted."""
    cache.clear()
    return _read(api, url)


def _key(account: Account, url: str) -> tuple[str, str, str]:
    return (account.account_id, "alias" if "/alias/" in url else "id", url.rsplit("/", 1)[1])


def _seen(account: Account, url: str) -> service._Seen:
    return service._SEEN[_key(account, url)]


def _predicted_equals_cold(api: TestClient, db: Database, account: Account, url: str) -> list[dict[str, Any]]:
    """The read with the prediction of the previous one, then with none: equal. On
    PostgreSQL, a second read with the same definitions runs every statement ahead, and the
    third also ends its transaction in that round trip. SQLite predicts nothing."""
    warm, again = _computed(api, url), _computed(api, url)
    if db.is_sqlite:
        assert _key(account, url) not in service._SEEN
        assert warm == again == _read(api, url)
        return warm
    ahead = _seen(account, url).ahead
    assert ahead is not None  # the definitions did not change between the two: all predicted, all used
    assert (ahead.missed, ahead.rows) == (0, {}), (ahead.missed, list(ahead.rows))
    assert _seen(account, url).held
    third = _computed(api, url)
    ahead = _seen(account, url).ahead
    assert ahead is not None and ahead.ended and not _seen(account, url).reran
    del service._SEEN[_key(account, url)]  # nothing to predict from
    cold = _computed(api, url)
    assert warm == again == third == cold == _computed(api, url)  # the last: predicted, and it held
    assert _seen(account, url).held
    return cold


def _consumed(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["productName"]: (e["consumedAmount"], e["hasAccess"]) for e in entries}


def test_reads_after_changes_through_another_server(
    api: TestClient, other: TestClient, db: Database, account: Account
) -> None:
    s = two_meter_customer(api, strategy="TOP_UP")
    cid, tokens, p_users = s["cid"], s["tokens"], s["up"]
    # The edge hour of AT holds events on both sides of it: read from the stored events.
    send(
        api,
        [
            event("t1", ts="2026-03-02T00:00:00Z", name="tokens", value=4),
            event("t2", ts="2026-03-15T12:10:00Z", name="tokens", value=3),
            event("t3", ts="2026-03-15T12:50:00Z", name="tokens", value=100),
            event("u1", ts="2026-03-03T00:00:00Z", name="users", user="ann"),
            event("u2", ts="2026-03-15T12:20:00Z", name="users", user="bob"),
            event("u3", ts="2026-03-15T12:40:00Z", name="users", user="cyd"),
        ],
    )
    by_id, by_alias = f"/customers/products-consumptions/{cid}", "/customers/products-consumptions/alias/acme"
    for url in (by_id, by_alias):
        assert _consumed(_predicted_equals_cold(api, db, account, url)) == {"Tokens": (7, True), "Users": (2, True)}

    # Data: an event in the edge hour (a Distinct value seen only there), one in a full day.
    send(
        other,
        [
            event("t4", ts="2026-03-15T12:29:59Z", name="tokens", value=5),
            event("u4", ts="2026-03-15T12:00:00Z", name="users", user="dee"),
            event("u5", ts="2026-03-04T00:00:00Z", name="users", user="bob"),
        ],
    )
    # Predicted from the read before the events, whose transaction ended in its round trip:
    # the new edge value is a statement not fetched ahead, so the read starts over.
    assert _consumed(_read(api, by_id)) == {"Tokens": (12, False), "Users": (3, True)}
    assert db.is_sqlite or _seen(account, by_id).reran
    assert _consumed(_predicted_equals_cold(api, db, account, by_id)) == {"Tokens": (12, False), "Users": (3, True)}

    # Definitions: credits (TOP_UP access), a new alias with its events, a measurement.
    assert other.post("/credits/grant", json={"customerId": cid, "creditAmount": 50}).status_code == 200
    resp = other.put(f"/customers/{cid}", json={"name": "Acme", "aliases": ["acme", "acme-eu"]})
    assert resp.status_code == 200, resp.text
    send(other, [event("t5", ts="2026-03-10T00:00:00Z", name="tokens", alias="acme-eu", value=1)])
    measurement = {"customerId": cid, "meterId": tokens, "usageDate": {"year": 2026, "month": 3, "day": 9}}
    assert other.post("/measurements", json={**measurement, "value": 2}).status_code == 200
    assert _consumed(_read(api, by_alias)) == {"Tokens": (15, True), "Users": (3, True)}
    assert _consumed(_predicted_equals_cold(api, db, account, by_alias)) == {"Tokens": (15, True), "Users": (3, True)}

    # Contracts: the first terminated before AT, a new one with one line.
    resp = other.post(f"/contracts/{s['contract']}/terminate", json={"terminationDate": "2026-03-01T00:00:00Z"})
    assert resp.status_code == 200, resp.text
    f.contract(other, cid, startDate="2026-03-14T00:00:00Z", products=[f.usage_line(p_users, units=1)])
    assert _consumed(_read(api, by_id)) == {"Users": (2, False)}  # window from Mar 14: bob, dee
    assert _consumed(_predicted_equals_cold(api, db, account, by_id)) == {"Users": (2, False)}

    # The alias moves to another customer: the alias read answers that one's (no line).
    resp = other.put(f"/customers/{cid}", json={"name": "Acme", "aliases": ["acme-eu"]})
    assert resp.status_code == 200, resp.text
    f.customer(other, "Beta", aliases=["acme"])
    assert _read(api, by_alias) == []


def test_prefetched_rows_answer_once(db: Database) -> None:
    """Within prefetched(), fetch() of a predicted statement answers the rows fetched ahead
    (on PostgreSQL: a volatile clock tells them apart), once per time it was predicted; a
    Recorder records statements."""
    statement = ("SELECT CAST(clock_timestamp() AS TEXT), ?", (7,))
    recorder = Recorder("postgresql")
    assert fetch(recording(recorder), *statement) == []
    assert recorder.statements == [statement]
    if db.is_sqlite:
        statement = ("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), ?", (7,))
    with transaction(db, write=False) as conn, prefetched(conn, [statement, statement]) as ahead:
        first, second, third = (fetch(conn, *statement) for _ in range(3))
        assert first[0][1] == second[0][1] == third[0][1] == 7
        if db.is_sqlite:  # nothing fetched ahead: all ran
            assert ahead.missed == 0 and ahead.rows == {}
        else:  # the first two came from the pipeline (a statement may recur), the third ran now
            assert third not in (first, second)
            assert ahead.missed == 1 and ahead.rows == {}
