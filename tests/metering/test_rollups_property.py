"""Property: for random events, meters and windows, usage() (rollups + edge events +
the backlog not yet folded) equals the reference aggregator over the events that are
stored, on SQLite and PostgreSQL.

Covers both ingestion paths on both backends: rollups merged by the request, and rollups
left to the folder (usage/backlog.py), folded in parts between the other steps, with reads
while some, none or all of the backlog is folded.
Covers duplicates (in a batch and across batches), deletions, late arrivals, meters
created before and after their events (incremental vs background rebuild), meters changed
mid-stream, reads while a rebuild is pending or part-way (chunks of 3 events, with
ingestion and deletes between chunks) and after it swapped in, every operator, filters,
instanceKey, nested paths, and windows that do and do not align with hour/day buckets,
among them windows whose edges lie just after an hour's last event or at its first (an
edge bucket taken whole, or not, by its span). On PostgreSQL the same reads also run with
their statements predicted and fetched ahead (the consumption read's path, db.raw.prefetched).
"""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterline.db.engine import Database, transaction
from meterline.db.raw import Recorder, prefetched, recording
from meterline.events import service as events_service
from meterline.kit.times import from_us
from meterline.meters import repository as meters_repo
from meterline.meters import service as meters_service
from meterline.meters.aggregation import Event, aggregate, value_or_zero
from meterline.meters.filters import CRITERION_OPERATORS
from meterline.meters.rollups import DAY_US, HOUR_US
from meterline.meters.schemas import MeterCreate, MeterUpdate
from meterline.meters.spec import OPERATORS
from meterline.usage import backlog
from meterline.usage.service import EdgeMemo, usage, usage_many, window_values
from tests.conftest import make_account
from tests.metering.factories import backlog_everywhere, fold_backlog, run_rebuilds

BASE = 1_767_571_200_000_000  # 2026-01-05T00:00:00Z
ALIASES = ["a", "b", "c"]
NAMES = ["x", "y"]

# Clustered around a few hours (so edge hours hold events) and around day boundaries.
offsets = st.one_of(
    st.builds(
        lambda h, d: h * HOUR_US + d,
        st.sampled_from([-49, -48, -25, -24, -23, -1, 0, 1, 2, 23, 24, 47]),
        st.one_of(st.sampled_from([0, 1, HOUR_US // 2, HOUR_US - 1]), st.integers(0, HOUR_US - 1)),
    ),
    st.integers(-3 * DAY_US, 3 * DAY_US),
)
numbers = st.one_of(
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
    st.integers(-50, 50),
)
values = st.one_of(
    numbers,
    numbers.map(lambda d: str(d)),
    st.sampled_from(["abc", "", "1e2", "true", "0.10"]),
    st.booleans(),
    st.none(),
)
instances = st.sampled_from(["i1", "i2", 1, Decimal("1.0"), None])


@st.composite
def data_docs(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    doc: dict[str, Any] = {}
    for key, strat in (
        ("v", values),
        ("k", instances),
        ("s", st.sampled_from(["red", "green", "blue", "red,green"])),
        ("tags", st.lists(st.sampled_from(["p", "q", "r"]), max_size=3)),
    ):
        if draw(st.booleans()):
            doc[key] = draw(strat)
    if draw(st.booleans()):
        doc["nested"] = {"v": draw(values)}
    return doc


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(st.sampled_from(["x", "x", "x", "y"])),
        "timestamp": from_us(BASE + draw(offsets)).isoformat(),
        "customerAlias": draw(st.sampled_from(ALIASES)),
        "ref": f"r{draw(st.integers(0, 15))}",
        "data": draw(data_docs()),
    }


@st.composite
def criterions(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(CRITERION_OPERATORS))
    if op in ("LargerThan", "LowerThan", "LargerEqualTo", "LowerEqualTo"):
        value = str(draw(st.integers(-20, 20)))
    else:
        value = draw(st.sampled_from(["red", "green", "p", "i1", "1", "red,green", "e", "abc"]))
    return {"field": draw(st.sampled_from(["v", "s", "tags", "k", "nested.v"])), "operator": op, "value": value}


@st.composite
def meters(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(OPERATORS))
    agg: dict[str, Any] = {"operator": op}
    if op != "Count" or draw(st.booleans()):
        agg["field"] = draw(st.sampled_from(["v", "nested.v", "s"] if op == "Distinct" else ["v", "nested.v"]))
    if draw(st.booleans()):
        agg["instanceKey"] = "k"
    doc: dict[str, Any] = {"name": "m", "eventName": draw(st.sampled_from(["x", "x", "y"])), "aggregationMethod": agg}
    if draw(st.integers(0, 2)) == 0:
        conds = draw(st.lists(st.lists(criterions(), min_size=1, max_size=2), min_size=1, max_size=2))
        doc["filter"] = {"conditions": [{"criterions": c} for c in conds]}
    return doc


window = st.tuples(offsets, offsets).map(lambda p: (BASE + min(p), BASE + max(p) + 1))
sends = st.tuples(st.just("send"), st.lists(events(), min_size=1, max_size=25))
deletes = st.tuples(st.just("delete"), st.lists(st.integers(0, 15).map(lambda i: f"r{i}"), min_size=1, max_size=4))
steps = st.builds(
    lambda first, middle, last: [first, *middle, last],
    sends,
    st.lists(
        st.one_of(
            sends,
            deletes,
            sends,
            deletes,
            st.tuples(st.just("change"), meters()),
            st.tuples(st.just("rebuild"), st.integers(1, 3)),
            st.tuples(st.just("fold"), st.integers(1, 30)),
            st.tuples(st.just("fold"), st.integers(1, 30)),
        ),
        max_size=6,
    ),
    deletes,
)


def _stored(model: dict[str, dict[str, Any]]) -> list[Event]:
    from meterline.events.validation import parse_timestamp

    return [
        Event(e["name"], parse_timestamp(e["timestamp"]), e["ref"], e["customerAlias"], e["data"])
        for e in model.values()
    ]


def _edge_windows(stored: list[Event]) -> list[Any]:
    """Windows with an edge inside an hour right after (or at) that hour's last (first)
    event: the read may take those edge buckets whole (when every alias's events of the
    hour lie inside), else it reads their events. A few hours, both kinds of edge."""
    spans: dict[int, tuple[int, int]] = {}
    for e in stored:
        hour = e.ts - e.ts % HOUR_US
        lo, hi = spans.get(hour, (e.ts, e.ts))
        spans[hour] = (min(lo, e.ts), max(hi, e.ts))
    out: list[Any] = []
    for lo, hi in sorted(spans.values())[:3]:
        out += [((BASE - 4 * DAY_US, hi + 1), ALIASES), ((lo, BASE + 4 * DAY_US), ALIASES[:1]), ((lo, hi + 1), ALIASES)]
    return out


def _check_property(
    db: Database,
    meter_doc: dict[str, Any],
    plan: list[Any],
    queries: list[Any],
    at: int,
    finish: bool = True,
    folded: bool = False,
) -> None:
    account = make_account(db, "prop")
    acc = account.account_id
    model: dict[str, dict[str, Any]] = {}
    meter_id: str | None = None
    current = meter_doc
    plan = [*plan[:at], ("meter", None), *plan[at:]]
    for kind, arg in plan:
        with transaction(db) as conn:
            if kind == "send":
                body = events_service.ingest(conn, account_id=acc, events=arg)
                for e in arg:
                    model.setdefault(e["ref"], e)
                assert {e["ref"] for e in body["validEvents"]} <= set(model)
            elif kind == "delete":
                events_service.delete_by_refs(conn, account_id=acc, refs=arg)
                for ref in arg:
                    model.pop(ref, None)
            elif kind == "meter":
                meter_id = meters_service.create(conn, account_id=acc, data=MeterCreate.model_validate(current))["id"]
            elif kind == "rebuild":
                pass  # below, outside this transaction
            elif kind == "fold":  # some of the backlog merged into the rollups, some left
                backlog.fold_some(conn, limit=arg)
            elif kind == "change" and meter_id is not None:
                meters_service.update(conn, account_id=acc, meter_id=meter_id, data=MeterUpdate.model_validate(arg))
                current = {**current, **arg}
        if kind == "rebuild":
            run_rebuilds(db, chunk=3, steps=arg)  # a few chunks of the background rebuild
    assert meter_id is not None
    if folded:
        fold_backlog(db)
    if finish:
        run_rebuilds(db)
        with transaction(db, write=False) as conn:
            (row,) = meters_repo.live_keys(conn, acc, [meter_id])
        assert row["rollup_id"] is not None and row["build_id"] is None  # its reads use rollups
    stored = _stored(model)
    queries = [*queries, ((BASE - 4 * DAY_US, BASE + 4 * DAY_US), ALIASES), *_edge_windows(stored)]
    with transaction(db, write=False) as conn:
        for (start, end), aliases in queries:
            got = usage(conn, account_id=acc, aliases=aliases, meter_id=meter_id, start_us=start, end_us=end)
            want = value_or_zero(aggregate(current, stored, start_us=start, end_us=end, aliases=aliases))
            assert got == want, (current, start - BASE, end - BASE, aliases, got, want)
        many = usage_many(conn, account_id=acc, aliases=ALIASES, requests=[(meter_id, s, e) for (s, e), _ in queries])
        for ((start, end), _), got in zip(queries, many, strict=True):
            assert got == value_or_zero(aggregate(current, stored, start_us=start, end_us=end, aliases=ALIASES))
        if not db.is_sqlite:
            _check_prefetched(conn, acc, meter_id, [window for window, _ in queries])


def _check_prefetched(conn: sa.Connection, account_id: str, meter_id: str, windows: list[tuple[int, int]]) -> None:
    """The consumption read's path on PostgreSQL (consumption.service._read): the statements
    of these reads, predicted from what a first read found at its edges, fetched ahead in one
    round trip; the same reads then take every row from there, and answer the same."""
    (row,) = meters_repo.live_keys(conn, account_id, [meter_id])
    items = [(row, start, end) for start, end in windows]
    found = EdgeMemo()
    first = window_values(conn, account_id, ALIASES, items, found=found)
    recorder = Recorder("postgresql")
    window_values(recording(recorder), account_id, ALIASES, items, assume=found)
    with prefetched(conn, recorder.statements) as ahead:
        again = window_values(conn, account_id, ALIASES, items)
    assert again == first
    assert (ahead.missed, ahead.rows) == (0, {})


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    meter_doc=meters(),
    plan=steps,
    at=st.one_of(st.just(1), st.integers(0, 8)),
    finish=st.one_of(st.just(True), st.booleans()),
    folded=st.booleans(),
    deferred=st.booleans(),
    queries=st.lists(
        st.tuples(window, st.lists(st.sampled_from(ALIASES), min_size=1, max_size=3, unique=True)),
        min_size=1,
        max_size=6,
    ),
)
def test_rollups_equal_the_reference(
    db: Database,
    meter_doc: dict[str, Any],
    plan: list[Any],
    queries: list[Any],
    at: int,
    finish: bool,
    folded: bool,
    deferred: bool,
) -> None:
    """`deferred`: ingestion leaves the rollups to the folder (else it merges them itself),
    whatever the backend."""
    with backlog_everywhere(deferred):
        _check_property(db, meter_doc, plan, queries, at % (len(plan) + 1), finish, folded)
