"""The rollup backlog: ingestion stores events and a copy of each in `rollup_backlog`;
a folder merges the backlog into the rollups later, off the request path, in chunks.
Every batch on PostgreSQL; on SQLite the batches whose events spread over many buckets (a
backfill), the others merging their rollups in the request (`deferred`). Reads, deletes and
rebuilds run the same code on both.

Why: merging a batch's rollups (several rows per event: hour and day buckets of every meter,
distinct values) inside the request cost 4-8x the events' own insert on PostgreSQL
(BENCHMARKS.md); a backfill batch touches nearly one bucket per event. Folded in bulk, a
live batch's events share buckets, and the request writes only the events.

Exact at every moment: a folder's transaction deletes the backlog rows it merges, so any
snapshot sees each event either in the backlog or in the rollups, never both, never
neither; reads add the backlog to the rollups (usage.service.window_values).

Locks (PostgreSQL; SQLite's writers hold the database lock): a folder takes each account's
SHARED lock (events.repository.lock_account_shared, accounts in sorted order) before its
rows, and skips rows another folder is taking (SKIP LOCKED): concurrent folders and
ingestion add up in the database as ingestion's merges did. Whoever recomputes buckets from
the stored events (deletes, a rebuild's start) holds the account's EXCLUSIVE lock and first
folds the account's whole backlog (fold_account): with no backlog left and no ingestion in
flight, the stored events and the rollups agree, and a rebuild's high-water seq covers
exactly the events folded so far.
"""

import asyncio
import contextlib
import time
from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from fastapi import FastAPI

from meterline.db.engine import Database, transaction
from meterline.events import repository as events_repo
from meterline.jobs.tasks import Stopper, start_task
from meterline.kit import jsonenc
from meterline.meters.rollups import HOUR_US
from meterline.usage import backlog_repository as repo
from meterline.usage import service as usage_service

log = structlog.get_logger("meterline.backlog")


def deferred(conn: sa.Connection, events: Sequence[tuple[str, int]]) -> bool:
    """Whether a batch of these events, (alias, ts µs), goes to the backlog (else the
    request merges its rollups): always on PostgreSQL; on SQLite when its events spread
    over many buckets (a backfill), see backlog_repository.DEFERS."""
    buckets = len({(alias, ts // HOUR_US) for alias, ts in events})
    return repo.defers_batch(conn, events=len(events), buckets=buckets)


def add(conn: sa.Connection, rows: Sequence[repo.BacklogRow]) -> None:
    """Queue newly stored events (account_id, alias, name, ts, event_id, ref, data_json) for
    folding, in the ingesting transaction."""
    repo.add(conn, rows)


def _merge(conn: sa.Connection, rows: Sequence[repo.BacklogRow]) -> None:
    by_account: dict[str, list[tuple[int, str, str, str, object]]] = {}
    for account_id, alias, name, ts, _id, ref, data in rows:
        doc = None if data is None else jsonenc.loads(data)
        by_account.setdefault(account_id, []).append((ts, ref, alias, name, doc))
    for account_id in sorted(by_account):
        inserted = by_account[account_id]
        meters = usage_service.meter_rows_for(conn, account_id, {e[3] for e in inserted})
        if meters:
            usage_service.on_inserted(conn, account_id, meters, inserted)
    # Last, in key order: a read cache validated by these generations (consumption/cache.py)
    # sees this fold as a change, even when the backlog's row count ends where it was.
    repo.bump_generations(conn, [(r[0], r[1]) for r in rows])


# Accounts per fold transaction: each takes an advisory lock, and PostgreSQL's lock table
# is shared and small (max_locks_per_transaction x max_connections, 6,400 by default).
MAX_ACCOUNTS = 64
# Where this process's folder continues: accounts are taken in turn (by id, wrapping round),
# so a busy account's backlog does not keep the others waiting.
_after = ""


def fold_some(conn: sa.Connection, *, limit: int) -> int:
    """Merge up to `limit` backlog rows (in key order, of at most MAX_ACCOUNTS accounts
    taken in turn) into the rollups, in the caller's write transaction; answers how many."""
    global _after
    accounts = repo.accounts_waiting(conn, rows=limit, accounts=MAX_ACCOUNTS, after=_after)
    if not accounts and _after:
        accounts = repo.accounts_waiting(conn, rows=limit, accounts=MAX_ACCOUNTS)
    if not accounts:
        return 0
    _after = accounts[-1]
    for account_id in accounts:  # sorted: folders and batches never wait in a cycle
        events_repo.lock_account_shared(conn, account_id)
    rows = repo.take(conn, accounts, limit)
    _merge(conn, rows)
    return len(rows)


def fold_account(conn: sa.Connection, account_id: str) -> int:
    """Merge all of this account's backlog; the caller holds its exclusive lock
    (events.repository.lock_account)."""
    rows = repo.take(conn, [account_id], None)
    _merge(conn, rows)
    return len(rows)


VACUUM_SECONDS = 1.0
_last_vacuum = 0.0


def fold_all(db: Database, *, chunk: int) -> int:
    """Fold until the backlog is empty, one transaction per chunk of `chunk` events (in
    the writers' turn on SQLite), vacuuming it meanwhile (PostgreSQL, at most once a second
    per process); answers the events folded."""
    global _last_vacuum
    total = 0
    while True:
        with db.writer_turn(), transaction(db) as conn:
            n = fold_some(conn, limit=chunk)
        total += n
        if total and time.monotonic() - _last_vacuum >= VACUUM_SECONDS:
            _last_vacuum = time.monotonic()
            repo.vacuum(db.engine)
        if n == 0:
            return total


def waiting(db: Database) -> int:
    """Events stored and not yet folded, in all accounts."""
    with transaction(db, write=False) as conn:
        return repo.size(conn)


async def run_forever(db: Database, *, chunk: int, poll_seconds: float, stop: asyncio.Event) -> None:
    """Fold whenever there is a backlog; wait `poll_seconds` when there is none."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            n = await asyncio.to_thread(fold_all, db, chunk=chunk)
            if n:
                log.debug("backlog folded", events=n, seconds=round(time.monotonic() - started, 3))
        except Exception:  # the rows stay in the backlog; the next round takes them
            log.exception("backlog fold failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)


def start(app: FastAPI) -> Stopper:
    """routers.BACKGROUND entry: the folder of this process (every process may run one)."""
    db: Database = app.state.db
    settings = app.state.settings
    return start_task(
        lambda stop: run_forever(
            db, chunk=settings.fold_chunk_events, poll_seconds=settings.fold_poll_seconds, stop=stop
        ),
        name="meterline-backlog",
    )
