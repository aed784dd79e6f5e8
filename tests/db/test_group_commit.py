"""Group commit (db.groupcommit): jobs that wait for the writers' turn share one
transaction; each gets its own result or exception, and only after the commit."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from meterline.db.engine import Database, create_database, transaction
from meterline.db.groupcommit import MAX_JOBS, GroupCommit
from meterline.db.migrate import upgrade


@pytest.fixture
def sdb(tmp_path: Path) -> Iterator[Database]:
    db = create_database(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(db)
    with transaction(db) as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    yield db
    db.dispose()


def _stored(db: Database) -> set[int]:
    with transaction(db, write=False) as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT v FROM t")}


class _Counting:
    """open_turn for GroupCommit: the real turn and transaction, counted."""

    def __init__(self, db: Database, fail_commit: bool = False) -> None:
        self.db, self.fail_commit, self.transactions = db, fail_commit, 0

    @contextmanager
    def __call__(self) -> Iterator[sa.Connection]:
        with self.db.writer_turn(), transaction(self.db) as conn:
            self.transactions += 1
            yield conn
            if self.fail_commit:
                raise OSError("disk full")  # as if the commit failed: the transaction rolls back


def _insert(v: int, pause: float = 0.0) -> Callable[[sa.Connection], int]:
    def work(conn: sa.Connection) -> int:
        conn.exec_driver_sql(f"INSERT INTO t VALUES ({v})")
        time.sleep(pause)  # holds the turn: later jobs queue meanwhile
        return v * 10

    return work


def _run_threads(
    group: GroupCommit, jobs: list[Callable[[sa.Connection], int]]
) -> tuple[dict[int, int], dict[int, BaseException]]:
    results: dict[int, int] = {}
    errors: dict[int, BaseException] = {}

    def one(i: int) -> None:
        try:
            results[i] = group.run(jobs[i])
        except BaseException as exc:
            errors[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
        time.sleep(0.002)
    for t in threads:
        t.join()
    return results, errors


def test_waiting_jobs_share_a_transaction(sdb: Database) -> None:
    turn = _Counting(sdb)
    group = GroupCommit(turn)
    n = 3 * MAX_JOBS + 1  # more than one group's worth waits at once
    results, errors = _run_threads(group, [_insert(i, pause=0.02) for i in range(n)])
    assert not errors
    assert results == {i: i * 10 for i in range(n)}  # each its own result, the leader's too
    assert _stored(sdb) == set(range(n))
    assert turn.transactions < n  # grouped
    assert turn.transactions >= n / MAX_JOBS  # never more than MAX_JOBS in one


def _half_done(conn: sa.Connection) -> int:
    conn.exec_driver_sql("INSERT INTO t VALUES (50)")
    raise ValueError("bad batch")


def test_a_failing_job_is_rolled_back_alone(sdb: Database) -> None:
    turn = _Counting(sdb)
    group = GroupCommit(turn)
    # job 2 repeats v=1; job 4 writes, then raises: its write must not be committed
    jobs = [_insert(1, pause=0.05), _insert(2), _insert(1), _insert(3), _half_done, _insert(4)]
    results, errors = _run_threads(group, jobs)
    assert set(errors) == {2, 4}
    assert isinstance(errors[2], sa.exc.IntegrityError)
    assert isinstance(errors[4], ValueError)
    assert results == {0: 10, 1: 20, 3: 30, 5: 40}
    assert _stored(sdb) == {1, 2, 3, 4}
    assert turn.transactions < len(jobs)


def test_a_failed_commit_fails_every_job_of_the_group(sdb: Database) -> None:
    group = GroupCommit(_Counting(sdb, fail_commit=True))
    results, errors = _run_threads(group, [_insert(i, pause=0.02) for i in range(4)])
    assert not results
    assert set(errors) == {0, 1, 2, 3}
    assert all(isinstance(e, OSError) for e in errors.values())
    assert _stored(sdb) == set()


def test_write_grouped_on_the_database(sdb: Database) -> None:
    assert sdb.write_grouped(_insert(7)) == 70
    assert _stored(sdb) == {7}
