"""The session dependency: one transaction per request; it owns commit and rollback.

Declared with scope="function" so the commit happens before the response is sent:
a 2xx means committed. Services and repositories never commit.
"""

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from meterline.db.engine import Database, small_read, transaction, write_options

T = TypeVar("T")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _conn(request: Request) -> Iterator[sa.Connection]:
    db: Database = request.app.state.db
    with db.engine.connect() as conn:
        if request.method not in _READ_METHODS:
            conn = conn.execution_options(**write_options(db))
        with conn.begin():
            yield conn


Conn = Annotated[sa.Connection, Depends(_conn, scope="function")]


async def run_read(request: Request, work: Callable[[sa.Connection], T], *, small: bool = False) -> T:
    """Hot read paths: one read transaction in ONE worker-thread hop.

    A sync generator dependency (Conn) costs a thread hop to open and another to close,
    on top of the endpoint's own; on latency-critical reads (products consumption) an
    async endpoint calls this instead (measured in BENCHMARKS.md).

    `small`: the work is a bounded set of indexed reads (one customer's consumption). On
    SQLite it then runs on the event loop itself, without the hop (~0.1 ms of a ~1 ms
    request), in Database.read_snapshot (a kept connection, no SQLAlchemy transaction:
    ~80 µs less): SQLite answers from the process's page cache, and the Python work would
    hold the GIL, and so stop the loop, in a worker thread too. PostgreSQL reads wait on
    the network, and large reads (account-wide totals) may take long: those always hop.
    """

    def _run(db: Database) -> T:
        with small_read(db) if small else transaction(db, write=False) as conn:
            return work(conn)

    return await run_db(request, _run, small=small)


async def run_db(request: Request, work: Callable[[Database], T], *, small: bool = False) -> T:
    """run_read for work that opens its own transactions on the app's Database (a read served
    from a cache after a one-statement check, consumption/cache.py): one worker-thread hop;
    with `small` on SQLite, none (as run_read)."""
    db: Database = request.app.state.db
    if small and db.is_sqlite:
        return work(db)
    return await run_in_threadpool(work, db)
