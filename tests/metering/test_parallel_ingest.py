"""Batches of ONE account written at once (PostgreSQL: under the shared account lock, in
parallel; SQLite: one writer at a time): nothing lost, no deadlock, duplicates decided
exactly, and the rollups equal a recount from the stored events. Also: the set-wise merge
(PostgreSQL) equals the per-row merge and the recount for every operator."""

import random
import threading
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.times import from_us, now_us
from meterline.meters import rebuilds
from meterline.meters import repository as meters_repo
from meterline.meters import service as meters_service
from meterline.meters.rollups import HOUR_US
from meterline.meters.schemas import MeterCreate
from meterline.meters.spec import OPERATORS
from meterline.usage import backlog
from meterline.usage import merge_repository as usage_merges
from meterline.usage import service as usage_service
from tests.conftest import make_account
from tests.metering.factories import fold_backlog

BASE = 1_767_571_200_000_000  # 2026-01-05T00:00:00Z
DUPLICATE = "Event ref already exists."
_DECIMAL_COLS = {"total", "vmin", "vmax", "first_val", "last_val"}
_ROLLUP_COLS = (
    "alias, level, bucket, instance, n, nv, total, vmin, vmax, "
    "first_ts, first_ref, first_val, last_ts, last_ref, last_val"
)


def _meter_docs() -> list[dict[str, Any]]:
    """Every operator, with and without an instanceKey, on the event name `x`."""
    docs = []
    for op in OPERATORS:
        for inst in (False, True):
            agg: dict[str, Any] = {"operator": op}
            if op != "Count":
                agg["field"] = "u" if op == "Distinct" else "v"
            if inst:
                agg["instanceKey"] = "k"
            docs.append({"name": f"{op}{'/k' if inst else ''}", "eventName": "x", "aggregationMethod": agg})
    return docs


def _create_meters(db: Database, account_id: str) -> list[dict[str, Any]]:
    with transaction(db) as conn:
        return [
            meters_service.create(conn, account_id=account_id, data=MeterCreate.model_validate(doc))
            for doc in _meter_docs()
        ]


def rollup_state(conn: sa.Connection, account_id: str, meter_id: str) -> tuple[set[Any], set[Any]]:
    """A meter's buckets and distinct values as comparable sets (decimals by value: the
    stored text of an exact sum may differ in its trailing zeros)."""
    names = [c.strip() for c in _ROLLUP_COLS.split(",")]
    q = "SELECT {} FROM {} WHERE account_id = :a AND meter_id = :m"
    rows = conn.execute(sa.text(q.format(_ROLLUP_COLS, "meter_rollups")), {"a": account_id, "m": meter_id}).all()
    buckets = {
        tuple(Decimal(v) if c in _DECIMAL_COLS and v is not None else v for c, v in zip(names, r, strict=True))
        for r in rows
    }
    cols = "alias, level, bucket, instance, value, n"
    distinct = {
        tuple(r) for r in conn.execute(sa.text(q.format(cols, "meter_distinct")), {"a": account_id, "m": meter_id})
    }
    return buckets, distinct


def assert_rollups_equal_recount(db: Database, account_id: str, meter_ids: list[str]) -> None:
    """Every meter's serving rollups equal a rebuild from the stored events: a rebuild into
    fresh rollups (meters.rebuilds, run to its end), compared with the ones the folder built
    (the backlog folded first)."""
    fold_backlog(db)
    with transaction(db, write=False) as conn:
        rows = {r["id"]: r for r in meters_repo.live_keys(conn, account_id, meter_ids)}
        before = {m: rollup_state(conn, account_id, rows[m]["rollup_id"]) for m in meter_ids}
    with transaction(db) as conn:
        for m in meter_ids:
            rebuilds.schedule(conn, account_id=account_id, meter=rows[m], stale=False, now=now_us())
    while rebuilds.run_once(db, rebuilds.RebuildConfig()):
        pass
    with transaction(db, write=False) as conn:
        rebuilt = {r["id"]: r for r in meters_repo.live_keys(conn, account_id, meter_ids)}
        after = {m: rollup_state(conn, account_id, rebuilt[m]["rollup_id"]) for m in meter_ids}
    for m in meter_ids:
        assert rebuilt[m]["rollup_id"] != rows[m]["rollup_id"], m  # really rebuilt elsewhere
        assert before[m] == after[m], m
        assert before[m][0], m  # something was rolled up


def _event(ref: str, ts: int, alias: str, rnd: random.Random) -> dict[str, Any]:
    return {
        "name": "x",
        "timestamp": from_us(ts).isoformat(),
        "customerAlias": alias,
        "ref": ref,
        "data": {"v": Decimal(rnd.randint(-500, 500)) / 100, "u": f"u{rnd.randrange(6)}", "k": rnd.choice("ab")},
    }


@pytest.mark.usefixtures("folder_everywhere")
def test_parallel_batches_of_one_account_stay_exact(db: Database) -> None:
    """Three writers send batches of one account at once, over the same aliases and hours
    in shuffled orders (the rows each merge touches overlap), refs overlapping between
    writers; a fourth deletes some refs of the previous round meanwhile (the exclusive lock)
    and two folders merge the backlog meanwhile (rows one folder takes, the other skips). No
    deadlock (it would raise), each ref stored and reported valid once, rollups equal a
    recount."""
    account_id = make_account(db).account_id
    meter_ids = [m["id"] for m in _create_meters(db, account_id)]
    rounds, writers, size = 6, 3, 300
    valid: list[str] = []
    deleted: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers + 1)

    def writer(w: int) -> None:
        rnd = random.Random(w)
        try:
            for r in range(rounds):
                # Odd rounds: half of the refs shared with the next writer (their inserts
                # wait for each other). Even rounds: refs of its own, so the merges of all
                # three run at once on the same buckets.
                lo = w * size // 2 if r % 2 else (writers + 1) * size // 2 + w * size
                refs = [f"r{r}-{i}" for i in range(lo, lo + size)]
                rnd.shuffle(refs)
                batch = [
                    _event(
                        ref, BASE + rnd.randrange(4) * HOUR_US + rnd.randrange(HOUR_US), f"c{rnd.randrange(12)}", rnd
                    )
                    for ref in refs
                ]
                barrier.wait()
                with transaction(db) as conn:
                    body = events_service.ingest(conn, account_id=account_id, events=batch)
                assert {e["error"] for e in body["invalidEvents"]} <= {DUPLICATE}
                assert len(body["validEvents"]) + len(body["invalidEvents"]) == len(batch)
                with lock:
                    valid.extend(e["ref"] for e in body["validEvents"])
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    def deleter() -> None:
        try:
            for r in range(rounds):
                barrier.wait()
                refs = [f"r{r - 1}-{i}" for i in range(0, 4 * size, 7)]  # the last round's: done
                with transaction(db) as conn:
                    gone = events_service.delete_by_refs(conn, account_id=account_id, refs=refs)
                with lock:
                    deleted.extend(e["ref"] for e in gone)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    done = threading.Event()
    folded: list[int] = []

    def folder() -> None:
        try:
            while not done.is_set():
                n = backlog.fold_all(db, chunk=97)
                with lock:
                    folded.append(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    threads.append(threading.Thread(target=deleter))
    folders = [threading.Thread(target=folder) for _ in range(2)]
    for t in threads + folders:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in folders:
        t.join()
    assert not errors, errors
    assert sum(folded) > 0  # the folders worked while the writers wrote
    every_ref = {f"r{r}-{i}" for r in range(1, rounds, 2) for i in range((writers + 1) * size // 2)}
    own = range((writers + 1) * size // 2, (writers + 1) * size // 2 + writers * size)
    every_ref |= {f"r{r}-{i}" for r in range(0, rounds, 2) for i in own}
    assert sorted(valid) == sorted(every_ref)  # each ref valid in exactly one answer
    with transaction(db, write=False) as conn:
        stored = [
            r[0] for r in conn.execute(sa.text("SELECT ref FROM events WHERE account_id = :a"), {"a": account_id})
        ]
    assert sorted(stored) == sorted(every_ref - set(deleted))
    assert_rollups_equal_recount(db, account_id, meter_ids)


def _refs_of(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    valid = sorted(e["ref"] for e in body["validEvents"])
    dupes = sorted(e["event"]["ref"] for e in body["invalidEvents"] if e["error"] == DUPLICATE)
    return valid, dupes


def _race(
    db: Database, account_id: str, first: list[dict[str, Any]], second: list[dict[str, Any]], *, commit: bool
) -> dict[str, Any]:
    """`first` stored in an open transaction; `second` sent from another connection
    meanwhile (PostgreSQL: it waits on the unique index; SQLite: on the write lock);
    then the first transaction commits or rolls back. Returns the second's answer."""
    answer: dict[str, Any] = {}
    failed: list[BaseException] = []

    def other() -> None:
        try:
            with transaction(db) as conn:
                answer.update(events_service.ingest(conn, account_id=account_id, events=second))
        except BaseException as exc:
            failed.append(exc)

    with db.engine.connect() as conn:
        conn = conn.execution_options(**({"sqlite_begin": "IMMEDIATE"} if db.is_sqlite else {}))
        tx = conn.begin()
        body = events_service.ingest(conn, account_id=account_id, events=first)
        assert len(body["validEvents"]) == len(first)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.3)  # give it the time to reach the contested rows (the outcome does not depend on it)
        if commit:
            tx.commit()
        else:
            tx.rollback()
    thread.join()
    assert not failed, failed
    return answer


def test_same_refs_raced_from_two_connections(db: Database) -> None:
    account_id = make_account(db).account_id
    meter_ids = [m["id"] for m in _create_meters(db, account_id)]
    rnd = random.Random(7)
    batch = [_event(f"s{i}", BASE + i * 1000, f"c{i % 3}", rnd) for i in range(60)]
    # The first commits: every ref of the second that the first holds is a duplicate,
    # the others are stored (PostgreSQL: COPY fails, the ON CONFLICT insert decides).
    second = [*batch[30:], *[_event(f"t{i}", BASE + i, "c0", rnd) for i in range(20)]]
    valid, dupes = _refs_of(_race(db, account_id, batch, second, commit=True))
    assert valid == sorted(f"t{i}" for i in range(20))
    assert dupes == sorted(e["ref"] for e in batch[30:])
    # The first rolls back: the second stores all of its refs.
    third = [_event(f"u{i}", BASE + i * 7, f"c{i % 2}", rnd) for i in range(40)]
    valid, dupes = _refs_of(_race(db, account_id, third, list(reversed(third)), commit=False))
    assert valid == sorted(e["ref"] for e in third) and dupes == []
    with transaction(db, write=False) as conn:
        q = "SELECT COUNT(*), COUNT(DISTINCT ref) FROM events WHERE account_id = :a"
        assert tuple(conn.execute(sa.text(q), {"a": account_id}).one()) == (120, 120)
    assert_rollups_equal_recount(db, account_id, meter_ids)


# -- set-wise merge == per-row merge == recount, every operator ------------------------

values = st.one_of(
    st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    st.integers(-50, 50),
    st.sampled_from(["abc", "1e3", "0.10", None]),
    # Long exact decimals at the numeric domain's edges (18 + 18 digits): carried as text
    # through the set-wise statement's JSON rows.
    st.sampled_from([Decimal("999999999999999999.999999999999999999"), Decimal("-0.000000000000000001")]),
)
# Texts that JSON and SQL quote or escape (the set-wise merge carries them as JSON strings).
_AWKWARD = ['q"\\', "é€😀", "{x,y}", "NULL", "a\tb", ""]
events_st = st.lists(
    st.fixed_dictionaries(
        {
            "ref": st.integers(0, 40).map(lambda i: f"r{i}" if i % 7 else f'r"{i}\\é'),
            "ts": st.one_of(
                st.integers(-2, 30).map(lambda h: BASE + h * HOUR_US),
                st.integers(0, 40 * HOUR_US).map(lambda d: BASE + d),
            ),
            "alias": st.sampled_from(["a", "b", "c", *[t for t in _AWKWARD if t]]),
            "v": values,
            "u": st.sampled_from(["p", "q", 1, Decimal("1.0"), None, *_AWKWARD]),
            "k": st.sampled_from(["i1", "i2", 3, *_AWKWARD]),
        }
    ),
    min_size=1,
    max_size=30,
)


def _wire(e: dict[str, Any]) -> dict[str, Any]:
    data = {k: e[k] for k in ("v", "u", "k") if e[k] is not None}
    return {
        "name": "x",
        "timestamp": from_us(e["ts"]).isoformat(),
        "customerAlias": e["alias"],
        "ref": e["ref"],
        "data": data,
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches=st.lists(events_st, min_size=1, max_size=4))
def test_setwise_merge_equals_per_row_merge_and_recount(db: Database, batches: list[list[dict[str, Any]]]) -> None:
    """Account A ingests the batches (on PostgreSQL: set-wise merges); account B merges
    the same accepted events with the per-row statement (execute_merge); both equal a
    recount, for all 8 operators with and without instanceKey."""
    a, b = make_account(db, "a").account_id, make_account(db, "b").account_id
    meters_a, meters_b = _create_meters(db, a), _create_meters(db, b)
    for batch in batches:
        wire = [_wire(e) for e in batch]
        with transaction(db) as conn:
            body = events_service.ingest(conn, account_id=a, events=wire)
            backlog.fold_some(conn, limit=10_000)  # this batch's set-wise merges
            stored = {e["ref"] for e in body["validEvents"]}
            prepared = events_service.prepare(wire)
            inserted = [(e.ts, e.ref, e.alias, e.name, e.data) for e in prepared.accepted if e.ref in stored]
            rows_b = usage_service.meter_rows_for(conn, b, ["x"])
            for merge in usage_service.plan_inserted(b, rows_b, inserted):
                usage_merges.execute_merge(conn, merge)
    with transaction(db, write=False) as conn:
        for ma, mb in zip(meters_a, meters_b, strict=True):
            assert rollup_state(conn, a, ma["id"]) == rollup_state(conn, b, mb["id"]), ma["name"]
    assert_rollups_equal_recount(db, a, [m["id"] for m in meters_a])


def _advisory_waiters(db: Database, account_id: str) -> int:
    """Transactions waiting for this account's lock (the key's low 32 bits are objid)."""
    with transaction(db, write=False) as conn:
        q = (
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND objid::bigint = (hashtext(:k)::bigint & 4294967295)"
        )
        return int(conn.execute(sa.text(q), {"k": "meterline.events:" + account_id}).scalar_one())


def test_account_lock_shared_and_exclusive(database_url: str, backend: str) -> None:
    """PostgreSQL: ingestion's shared account lock does not wait for another shared holder;
    the exclusive one (deletes, backfills, drops, rebuilds) waits for every shared holder.
    On SQLite both are no-ops (its writers hold the database lock)."""
    from meterline.db.engine import create_database
    from meterline.events import repository as events_repo

    db = create_database(database_url)
    try:
        with db.engine.connect() as holder:
            holder.begin()
            events_repo.lock_account_shared(holder, "acc-1")
            done: list[str] = []

            def take(kind: str) -> None:
                with transaction(db) as conn:
                    lock = events_repo.lock_account if kind == "exclusive" else events_repo.lock_account_shared
                    lock(conn, "acc-1")
                    done.append(kind)

            shared = threading.Thread(target=take, args=("shared",))
            shared.start()
            shared.join(30)
            assert done == ["shared"]  # taken while the holder still holds its shared lock
            exclusive = threading.Thread(target=take, args=("exclusive",))
            exclusive.start()
            if backend == "postgres":
                while _advisory_waiters(db, "acc-1") == 0:  # it queues behind the holder
                    assert exclusive.is_alive()
                    threading.Event().wait(0.05)
                assert done == ["shared"]
            holder.rollback()
            exclusive.join(30)
            assert done == ["shared", "exclusive"]
    finally:
        db.dispose()
