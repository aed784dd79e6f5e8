"""events.explore.browse (the dashboard's events list): GET /events's page with a count
bounded at `cap`, on SQLite and PostgreSQL."""

from typing import Any

from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.events import explore
from meterline.kit.pagination import PageRequest, decode_cursor
from meterline.kit.times import parse_instant, to_us
from tests.conftest import Account

START, END = "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"


def _events() -> list[dict[str, Any]]:
    return [
        {
            "name": "api_call" if i % 2 else "login",
            "timestamp": f"2026-10-01T{i:02d}:00:00Z",
            "customerAlias": "acme" if i % 3 else "globex",
            "ref": f"r{i}",
            "data": {"tokens": i},
        }
        for i in range(24)
    ]


def _browse(db: Database, account: Account, *, cap: int = explore.COUNT_CAP, **kw: Any) -> dict[str, Any]:
    page = PageRequest(limit=kw.pop("limit", 10), after_seq=decode_cursor(kw.pop("cursor")) if "cursor" in kw else 0)
    with transaction(db, write=False) as conn:
        return explore.browse(
            conn,
            account_id=account.account_id,
            start_us=to_us(parse_instant(kw.pop("start", START), param="from")),
            end_us=to_us(parse_instant(kw.pop("end", END), param="to")),
            name=kw.pop("name", None),
            alias=kw.pop("alias", None),
            page=page,
            cap=cap,
        )


def test_pages_are_get_events_pages(api: TestClient, db: Database, account: Account) -> None:
    assert api.post("/events", json={"events": _events()}).status_code == 200
    for filters, params in [
        ({}, {}),
        ({"name": "api_call"}, {"eventName": "api_call"}),
        (
            {"alias": "globex", "end": "2026-10-01T12:00:00Z"},
            {"customerAlias": "globex", "endTime": "2026-10-01T12:00:00Z"},
        ),
    ]:
        query = {"startTime": START, "endTime": END, "limit": 5} | params
        mine = _browse(db, account, limit=5, **filters)
        while True:
            theirs = api.get("/events", params=query).json()
            assert mine == theirs | {"totalCapped": False}
            if not theirs["hasMore"]:
                break
            query["cursor"] = theirs["nextCursor"]
            mine = _browse(db, account, limit=5, cursor=theirs["nextCursor"], **filters)


def test_the_count_stops_past_the_cap(api: TestClient, db: Database, account: Account) -> None:
    assert api.post("/events", json={"events": _events()}).status_code == 200
    capped = _browse(db, account, cap=5)
    assert capped["total"] == 6 and capped["totalCapped"] is True and len(capped["events"]) == 10
    exact = _browse(db, account, cap=24)
    assert exact["total"] == 24 and exact["totalCapped"] is False
    assert _browse(db, account, cap=23)["totalCapped"] is True


def test_the_sorted_path_pages_exactly_as_the_seq_walk(api: TestClient, db: Database, account: Account) -> None:
    """events.repository.page with a small `matches` (index range read, then sorted) gives
    the same pages as the seq walk, for every filter and cursor: timestamps out of order."""
    from meterline.events import repository as repo

    shuffled = [
        {
            "name": "a" if i % 2 else "b",
            "timestamp": f"2026-10-01T{(i * 7) % 24:02d}:{i % 60:02d}:00Z",
            "customerAlias": f"c{i % 3}",
            "ref": f"s{i}",
        }
        for i in range(90)
    ]
    assert api.post("/events", json={"events": shuffled}).status_code == 200
    start, end = to_us(parse_instant("2026-10-01T03:00:00Z", param="s")), to_us(parse_instant(END, param="e"))
    for name, alias in [(None, None), ("a", None), (None, "c1"), ("b", "c2")]:
        with transaction(db, write=False) as conn:
            kw: dict[str, Any] = {"start_us": start, "end_us": end, "name": name, "alias": alias}
            n = repo.count(conn, account.account_id, **kw)
            walked, sorted_, after = [], [], 0
            while True:
                rows = repo.page(conn, account.account_id, after_seq=after, limit=7, **kw)[:7]
                again = repo.page(conn, account.account_id, after_seq=after, limit=7, matches=n, **kw)[:7]
                assert [r["seq"] for r in again] == [r["seq"] for r in rows]
                if not rows:
                    break
                walked += [r["ref"] for r in rows]
                sorted_ += [r["ref"] for r in again]
                after = rows[-1]["seq"]
        assert walked == sorted_ and len(walked) == n > 0
