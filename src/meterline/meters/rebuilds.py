"""Background meter rebuilds: a meter created, or whose eventName, aggregationMethod or
filter changed, gets its rollups rebuilt by a job, off the request path.

A job (a `meter_rebuilds` row) fills a fresh rollup id:
1. scheduled in the meter's transaction (`schedule`): status pending. A changed meter's old
   rollups stop serving at once (meters.rollup_id = NULL, old id queued for deletion): until
   the swap its reads compute from the stored events (usage.service.read_plans): exact.
2. started (`_begin`) under the account's exclusive lock: the account's rollup backlog is
   folded (usage/backlog.py), the high-water seq (highest event seq stored) is fixed and
   meters.build_id set, so the folder merges every later event into the building id as well.
3. folded chunk by chunk (`_step`): events of seq in (cursor, high-water], at most
   METERLINE_REBUILD_CHUNK_EVENTS per transaction; the cursor moves in the same transaction,
   so a crash resumes from it and never folds an event twice.
4. swapped (`_step`, when no event is left): meters.rollup_id = the new id, build_id NULL,
   the previous id queued in `meter_rollup_drops` (deleted in chunks by `drain_drops`).
A delete of events during a build restarts it (`restart_building`). Several processes may
run jobs: a process claims a job with a lease (token + expiry, renewed by every chunk); a
crashed holder's lease expires and another process resumes the job from its cursor.
"""

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI

from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.events import repository as events_repo
from meterline.jobs.tasks import Stopper, start_task
from meterline.kit import jsonenc
from meterline.kit.ids import new_id
from meterline.kit.times import now_us
from meterline.meters import repository as repo
from meterline.meters.rollups import compute
from meterline.meters.spec import compile_meter
from meterline.usage import backlog
from meterline.usage import merge_repository as usage_merges

log = structlog.get_logger("meterline.rebuilds")
US = 1_000_000


class LostLease(Exception):
    """The job was taken by another process, restarted or cancelled meanwhile."""


# -- scheduling (in the caller's transaction) -------------------------------------------


def schedule(
    conn: sa.Connection, *, account_id: str, meter: dict[str, Any], stale: bool, now: int, target: str | None = None
) -> str:
    """Queue a rebuild of this meter into rollup id `target` (default: a fresh one),
    cancelling one that runs; `stale`: its current rollups no longer match its definition
    (created or changed), so they stop serving now. Answers the job id.

    With no stored event of the meter's name there is nothing to fold: the new (empty)
    rollups serve at once and the job is recorded done. The account's exclusive lock makes
    that check exact: an ingestion either committed before it (and is seen) or reads the
    meter row after this transaction (and merges into the new rollups)."""
    events_repo.lock_account(conn, account_id)
    _cancel(conn, account_id, meter, now)
    target = target or new_id()
    old = meter["rollup_id"]
    empty = not events_repo.any_named(conn, account_id, meter["event_name"])
    job_id = new_id()
    repo.insert_rebuild(
        conn, job_id=job_id, account_id=account_id, meter_id=meter["id"], rollup_id=target, now=now, done=empty
    )
    if empty:
        repo.set_rollups(conn, account_id, meter["id"], rollup_id=target, build_id=None)
    elif stale:
        repo.set_rollups(conn, account_id, meter["id"], rollup_id=None)
    if old is not None and (empty or stale) and old != target:
        repo.add_drop(conn, account_id, old, now)
    return job_id


def _cancel(conn: sa.Connection, account_id: str, meter: dict[str, Any], now: int) -> None:
    for job in repo.active_rebuilds(conn, account_id, meter["id"]):
        repo.update_rebuild(conn, job["id"], status="cancelled", lease_token=None, updated_at=now, finished_at=now)
        repo.add_drop(conn, account_id, job["rollup_id"], now)
    if meter["build_id"] is not None:
        repo.set_rollups(conn, account_id, meter["id"], build_id=None)


def forget(conn: sa.Connection, *, account_id: str, meter: dict[str, Any], now: int) -> None:
    """A deleted meter: cancel its rebuild, queue every rollup id of it for deletion (under
    the account's lock: no ingestion merges into them after this commits)."""
    events_repo.lock_account(conn, account_id)
    _cancel(conn, account_id, meter, now)
    if meter["rollup_id"] is not None:
        repo.add_drop(conn, account_id, meter["rollup_id"], now)


def restart_building(conn: sa.Connection, account_id: str, meter: dict[str, Any]) -> None:
    """Events were deleted while this meter's rebuild folds (caller holds the account's
    lock): its building rollups may hold them; start it over on a fresh rollup id."""
    if meter["build_id"] is None:
        return
    now = now_us()
    schedule(conn, account_id=account_id, meter=meter, stale=False, now=now)


# -- running ----------------------------------------------------------------------------


@contextlib.contextmanager
def _writing(db: Database) -> Iterator[sa.Connection]:
    """A write transaction taken in the writers' turn (SQLite: queued with ingestion on
    the lock file rather than polling SQLite's busy handler; PostgreSQL: a transaction)."""
    with db.writer_turn(), transaction(db) as conn:
        yield conn


@dataclass(frozen=True)
class RebuildConfig:
    chunk_events: int = 2_500
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "RebuildConfig":
        return cls(chunk_events=max(1, settings.rebuild_chunk_events), lease_seconds=settings.rebuild_lease_seconds)


def claim(
    db: Database, config: RebuildConfig, *, account_id: str | None = None, meter_id: str | None = None
) -> tuple[str, str] | None:
    """(job id, lease token) of a job this process now holds, or None."""
    token = secrets.token_hex(16)
    now = now_us()
    with _writing(db) as conn:
        job_id = repo.claim_rebuild(
            conn,
            token=token,
            now=now,
            lease_until=now + int(config.lease_seconds * US),
            account_id=account_id,
            meter_id=meter_id,
        )
    return None if job_id is None else (job_id, token)


def step(db: Database, job_id: str, token: str, config: RebuildConfig) -> dict[str, Any]:
    """One transaction of work on a held job: start it, fold one chunk, or swap. Answers
    the job row after it (status "done" when finished). Raises LostLease."""
    with _writing(db) as conn:
        job = repo.get_rebuild(conn, job_id)
        if job is None:
            raise LostLease(job_id)
        events_repo.lock_account(conn, job["account_id"])
        job = repo.get_rebuild(conn, job_id)  # again, under the lock
        if job is None or job["lease_token"] != token or job["status"] not in repo.ACTIVE:
            raise LostLease(job_id)
        meter = repo.get(conn, job["account_id"], job["meter_id"])
        now = now_us()
        lease = now + int(config.lease_seconds * US)
        if meter is None:  # deleted meanwhile
            repo.update_rebuild(conn, job_id, status="cancelled", updated_at=now, finished_at=now)
            repo.add_drop(conn, job["account_id"], job["rollup_id"], now)
            return {**job, "status": "cancelled"}
        if job["high_water_seq"] is None:
            return _begin(conn, job, meter, token, now, lease)
        return _fold(conn, job, meter, token, now, lease, config.chunk_events)


def _begin(
    conn: sa.Connection, job: dict[str, Any], meter: dict[str, Any], token: str, now: int, lease: int
) -> dict[str, Any]:
    # The account's backlog first (we hold its exclusive lock): every event up to the
    # high-water is then in the rollups it serves, and the folder merges later ones into
    # the building id too.
    backlog.fold_account(conn, job["account_id"])
    high = events_repo.max_seq(conn)
    total = events_repo.count_named_upto(conn, job["account_id"], meter["event_name"], high)
    values = {"status": "running", "high_water_seq": high, "events_total": total, "updated_at": now}
    if not repo.update_rebuild(conn, job["id"], token=token, lease_until=lease, **values):
        raise LostLease(job["id"])
    repo.set_rollups(conn, job["account_id"], meter["id"], build_id=job["rollup_id"])
    return {**job, **values}


def _fold(
    conn: sa.Connection,
    job: dict[str, Any],
    meter: dict[str, Any],
    token: str,
    now: int,
    lease: int,
    chunk: int,
) -> dict[str, Any]:
    account_id = job["account_id"]
    rows = events_repo.chunk_named(
        conn, account_id, meter["event_name"], after_seq=job["cursor_seq"], upto_seq=job["high_water_seq"], limit=chunk
    )
    if not rows:  # every event up to the high-water folded: swap
        values: dict[str, Any] = {"status": "done", "updated_at": now, "finished_at": now, "lease_token": None}
        if not repo.update_rebuild(conn, job["id"], token=token, **values):
            raise LostLease(job["id"])
        if meter["rollup_id"] is not None and meter["rollup_id"] != job["rollup_id"]:
            repo.add_drop(conn, account_id, meter["rollup_id"], now)
        repo.set_rollups(conn, account_id, meter["id"], rollup_id=job["rollup_id"], build_id=None)
        return {**job, **values}
    values = {"cursor_seq": rows[-1][0], "events_done": job["events_done"] + len(rows), "updated_at": now}
    if not repo.update_rebuild(conn, job["id"], token=token, lease_until=lease, **values):
        raise LostLease(job["id"])
    spec = compile_meter(meter["doc"])
    delta = compute(spec, ((ts, ref, alias, None if d is None else jsonenc.loads(d)) for _, ts, ref, alias, d in rows))
    usage_merges.execute_merge(
        conn, usage_merges.merge_rows(account_id, job["rollup_id"], spec.operator, delta.accs, delta.distinct)
    )
    return {**job, **values}


def run_job(
    db: Database,
    job_id: str,
    token: str,
    config: RebuildConfig,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Work a held job to its end (or until its lease is lost: LostLease)."""
    while True:
        job = step(db, job_id, token, config)
        if progress is not None:
            progress(job)
        if job["status"] not in repo.ACTIVE:
            return job


def drain_drops(db: Database, *, chunk: int, limit: int = 10) -> int:
    """Delete some rows of dropped rollup ids, one chunk per transaction; a drop whose
    rows are all gone is removed. Answers the rows deleted."""
    with transaction(db, write=False) as conn:
        pending = repo.drops(conn, limit)
    total = 0
    for account_id, rollup_id in pending:
        with _writing(db) as conn:
            n = usage_merges.delete_some(conn, account_id, rollup_id, chunk)
            if n == 0:
                repo.remove_drop(conn, account_id, rollup_id)
        total += n
    return total


def run_once(db: Database, config: RebuildConfig) -> bool:
    """Claim one job and run it to its end, then delete some dropped rollups; True when
    there was work (callers loop without waiting)."""
    claimed = claim(db, config)
    worked = False
    if claimed is not None:
        worked = True
        try:
            job = run_job(db, *claimed, config)
            log.info("meter_rebuild", job_id=job["id"], meter_id=job["meter_id"], status=job["status"])
        except LostLease:
            log.info("meter_rebuild_lost", job_id=claimed[0])
    return drain_drops(db, chunk=config.chunk_events) > 0 or worked


async def run_forever(db: Database, config: RebuildConfig, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            busy = await asyncio.to_thread(run_once, db, config)
        except Exception:  # keep the job alive; the next round resumes from the cursor
            log.exception("meter_rebuild_failed")
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=config.poll_seconds)


def start(app: FastAPI) -> Stopper:
    """routers.BACKGROUND entry: run meter rebuilds and rollup drops."""
    db: Database = app.state.db
    config = RebuildConfig.from_settings(app.state.settings)
    return start_task(lambda stop: run_forever(db, config, stop), name="meterline-rebuilds")
