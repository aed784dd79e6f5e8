"""Group commit for SQLite writers of one process.

Writers that wait for the writers' turn (Database.writer_turn) while another holds it are
written together: whichever of them runs next (the leader) takes every waiting job, runs
each in its own SAVEPOINT inside ONE write transaction, commits once, and hands every job
its own result (or its own exception). A 2xx still means committed: no job's result is
given out before the commit that holds it. What is saved is one WAL fsync and one
transaction per job after the first, which is most of the time the turn is held.

A job that raises is rolled back to its savepoint and the others go on; if the commit
itself fails, every job of the group gets that error.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

MAX_JOBS = 8  # at most this many jobs share a transaction (bounds its size and latency)


@dataclass
class _Job(Generic[T]):
    work: Callable[[sa.Connection], T]
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass
class GroupCommit:
    """`run(work)` from any thread: work(conn) runs in a write transaction opened by
    `open_turn()` (a context manager: the writers' turn and the transaction), shared with
    the jobs that were waiting meanwhile."""

    open_turn: Callable[[], Any]
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _pending: list[_Job[Any]] = field(default_factory=list)
    _leading: bool = False

    def run(self, work: Callable[[sa.Connection], T]) -> T:
        job: _Job[T] = _Job(work)
        with self._cond:
            self._pending.append(job)
            while self._leading and not job.done:
                self._cond.wait()
            if not job.done:
                self._leading = True
                self._pending.remove(job)
                jobs, self._pending = [job, *self._pending[: MAX_JOBS - 1]], self._pending[MAX_JOBS - 1 :]
        if not job.done:
            try:
                self._write(jobs)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _write(self, jobs: list[_Job[Any]]) -> None:
        try:
            with self.open_turn() as conn:
                for job in jobs:
                    savepoint = conn.begin_nested()
                    try:
                        job.result = job.work(conn)
                    except BaseException as exc:  # handed to that job's caller
                        savepoint.rollback()
                        job.error = exc
                    else:
                        savepoint.commit()
        except BaseException as exc:  # the commit failed: every job gets it
            for job in jobs:
                if job.error is None:
                    job.error = exc
                    job.result = None
        finally:
            for job in jobs:
                job.done = True
