"""Run a periodic job in one process at a time (the lease holder), with fast takeover.

Every `meterline serve` process and every `meterline worker` runs `run_as_leader` for each
periodic job (threshold scan, invoice job). Each tries, every `tick` (a quarter of the
job's interval), to take or renew the job's lease in `job_leases` for `ttl` (three ticks).
The holder runs the job once per interval and renews the lease on every tick, also while a
round is running; the others only try. When the holder dies, its lease expires at most
`ttl` after its last renewal and another process takes it at its next tick: a new leader
runs the job within `ttl + tick` = one interval of the death. A clean stop releases the
lease at once.

Lease times come from each process's clock: hosts that share a database must keep their
clocks in step (NTP); a skew of s seconds shortens or lengthens a takeover by s.
"""

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from meterline.db.engine import Database, transaction
from meterline.jobs import leases
from meterline.jobs.tasks import Stopper, start_task
from meterline.kit.times import now_us

log = structlog.get_logger("meterline.jobs")

HOLDER = f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Timing:
    """A job's interval and the lease timing derived from it (seconds)."""

    interval: float

    @property
    def tick(self) -> float:
        return self.interval / 4

    @property
    def ttl(self) -> float:
        return 3 * self.tick


def _try_lead(db: Database, name: str, holder: str, ttl: float) -> bool:
    try:
        with transaction(db) as conn:
            return leases.acquire(conn, name=name, holder=holder, now_us=now_us(), ttl_us=int(ttl * 1_000_000))
    except Exception:  # the database is away: not the leader now, try again next tick
        log.warning("job lease not renewed", job=name, exc_info=True)
        return False


def _release(db: Database, name: str, holder: str) -> None:
    with contextlib.suppress(Exception), transaction(db) as conn:
        leases.release(conn, name=name, holder=holder)


async def run_as_leader(
    db: Database,
    *,
    name: str,
    interval: float,
    work: Callable[[], object],
    stop: asyncio.Event,
    holder: str = HOLDER,
) -> None:
    """Until `stop`: while this process holds job `name`'s lease, run `work` (in a thread)
    once per `interval` seconds. A failing round is logged and retried next interval."""
    timing = Timing(interval)
    leading = False
    next_run = 0.0
    try:
        while not stop.is_set():
            was = leading
            leading = await asyncio.to_thread(_try_lead, db, name, holder, timing.ttl)
            if leading != was:
                log.info("job leadership " + ("taken" if leading else "lost"), job=name, holder=holder)
            if leading and time.monotonic() >= next_run:
                next_run = time.monotonic() + interval
                leading = await _round(db, name, holder, timing, work)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=timing.tick)
    finally:
        if leading:
            await asyncio.to_thread(_release, db, name, holder)


async def _round(db: Database, name: str, holder: str, timing: Timing, work: Callable[[], object]) -> bool:
    """One run of `work`, renewing the lease every tick meanwhile; answers whether the
    lease is still held at the end."""
    started = time.monotonic()
    task = asyncio.create_task(asyncio.to_thread(work))
    held = True
    while True:
        done, _ = await asyncio.wait({task}, timeout=timing.tick)
        if done:
            break
        held = await asyncio.to_thread(_try_lead, db, name, holder, timing.ttl)
    try:
        task.result()
        log.debug("job round done", job=name, seconds=round(time.monotonic() - started, 3))
    except Exception:
        log.exception("job round failed", job=name)
    return held


def start_periodic(db: Database, *, name: str, interval: float, work: Callable[[], object]) -> Stopper:
    """Start run_as_leader as a task of the running loop; answers an async stop() that
    lets a running round finish (30 s at most) and releases the lease."""
    return start_task(
        lambda stop: run_as_leader(db, name=name, interval=interval, work=work, stop=stop), name=f"meterline-{name}"
    )
