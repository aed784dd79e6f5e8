"""One leader per periodic job: the lease statement, and run_as_leader with several holders
on one database (in one process; the multi-process takeover is in tests/cluster/)."""

import asyncio
import threading
import time
from collections.abc import Callable

from meterline.db.engine import Database, transaction
from meterline.jobs import leases
from meterline.jobs.leader import Timing, run_as_leader

S = 1_000_000


async def _until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def _acquire(db: Database, holder: str, now: int, ttl: int = 10 * S) -> bool:
    with transaction(db) as conn:
        return leases.acquire(conn, name="job", holder=holder, now_us=now, ttl_us=ttl)


def _current(db: Database) -> tuple[str, int] | None:
    with transaction(db, write=False) as conn:
        return leases.current(conn, name="job")


def test_a_lease_is_held_by_one_holder_until_it_expires(db: Database) -> None:
    assert _current(db) is None
    assert _acquire(db, "a", 100 * S)
    assert not _acquire(db, "b", 105 * S)  # a's lease runs to 110 s
    assert _acquire(db, "a", 106 * S)  # renewed: now to 116 s
    assert _current(db) == ("a", 116 * S)
    assert not _acquire(db, "b", 115 * S)
    assert _acquire(db, "b", 116 * S)  # expired: b takes it
    assert _current(db) == ("b", 126 * S)
    assert not _acquire(db, "a", 117 * S)


def test_release_frees_only_the_holders_own_lease(db: Database) -> None:
    assert _acquire(db, "a", 100 * S)
    with transaction(db) as conn:
        leases.release(conn, name="job", holder="b")
    assert _current(db) == ("a", 110 * S)
    with transaction(db) as conn:
        leases.release(conn, name="job", holder="a")
    assert _current(db) is None
    assert _acquire(db, "b", 101 * S)


def test_jobs_have_separate_leases(db: Database) -> None:
    with transaction(db) as conn:
        assert leases.acquire(conn, name="one", holder="a", now_us=S, ttl_us=S)
        assert leases.acquire(conn, name="two", holder="b", now_us=S, ttl_us=S)
        assert not leases.acquire(conn, name="two", holder="a", now_us=S, ttl_us=S)


def test_lease_timing_makes_takeover_fit_one_interval() -> None:
    t = Timing(4.0)
    assert t.tick == 1.0 and t.ttl == 3.0
    assert t.ttl + t.tick == t.interval  # expiry after the last renewal, then the next try


def test_only_the_leader_runs_and_a_clean_stop_hands_over(db: Database) -> None:
    runs: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()

    def work(holder: str) -> None:
        with lock:
            runs[holder] += 1

    async def scenario() -> None:
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        interval = 0.2
        a = asyncio.create_task(
            run_as_leader(db, name="job", interval=interval, work=lambda: work("a"), stop=stop_a, holder="a")
        )
        await asyncio.sleep(0.05)  # a takes the lease first
        b = asyncio.create_task(
            run_as_leader(db, name="job", interval=interval, work=lambda: work("b"), stop=stop_b, holder="b")
        )
        await _until(lambda: runs["a"] >= 3)
        assert runs["b"] == 0
        assert _current(db)[0] == "a"  # type: ignore[index]
        stop_a.set()
        await a  # releases the lease
        await _until(lambda: runs["b"] >= 1)
        assert _current(db)[0] == "b"  # type: ignore[index]
        stop_b.set()
        await b

    asyncio.run(scenario())


def test_a_failing_round_keeps_the_job_and_the_lease(db: Database) -> None:
    calls = []

    def work() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_as_leader(db, name="job", interval=0.1, work=work, stop=stop, holder="a"))
        await _until(lambda: len(calls) >= 3)
        assert _current(db)[0] == "a"  # type: ignore[index]
        stop.set()
        await task

    asyncio.run(scenario())
