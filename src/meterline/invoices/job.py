"""Issuing due invoices: the in-process background job and the CLI's `invoices close`."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI

from meterline.auth import repository as auth_repo
from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.invoices import payments, service
from meterline.jobs.leader import run_as_leader, start_periodic
from meterline.kit import metrics
from meterline.kit.times import now_us

log = structlog.get_logger("meterline.invoices")


def close_until(
    db: Database,
    *,
    until: int,
    account_id: str | None = None,
    keep_going: bool = False,
    now: int | None = None,
    grace_us: int = 0,
) -> list[service.Issued]:
    """Issue every invoice whose cycle ends at or before `until`, account by account (one
    transaction each), less the grace (service.issue_limit; 0 for `meterline invoices
    close`, whose --until is explicit). Idempotent: an issued invoice is never issued
    again. With keep_going, an account that fails is logged and skipped (the next round
    retries it). now: the job's clock (default the wall clock)."""
    with transaction(db, write=False) as conn:
        accounts = [account_id] if account_id else [r["id"] for r in auth_repo.list_accounts(conn)]
    issued: list[service.Issued] = []
    for account in accounts:
        try:
            with transaction(db) as conn:
                issued += service.catch_up(
                    conn, account_id=account, until=until, now=now_us() if now is None else now, grace_us=grace_us
                )
        except Exception:
            if not keep_going:
                raise
            log.exception("invoice_issue_error", account_id=account)
    return issued


def grace_of(settings: Settings) -> int:
    """METERLINE_INVOICE_GRACE_SECONDS in µs (never negative)."""
    return max(int(settings.invoice_grace_seconds * 1_000_000), 0)


def run_round(db: Database, *, now: int, grace_us: int) -> tuple[int, int]:
    """One round of the job at `now`: issue what is due (cycles ended `grace_us` ago, of
    contracts at least that old), then announce invoices that turned Overdue. Returns
    (invoices issued, invoices announced Overdue). A plain function: whoever runs the
    periodic jobs calls it."""
    issued = close_until(db, until=now, keep_going=True, now=now, grace_us=grace_us)
    announced = 0
    while True:
        with transaction(db) as conn:
            batch = payments.announce_overdue(conn, now=now)
        announced += batch
        if batch == 0:
            return len(issued), announced


JOB_NAME = "invoice-close"


def _round(db: Database, grace_us: int) -> None:
    with metrics.job_round("invoices"):
        run_round(db, now=now_us(), grace_us=grace_us)


async def run_forever(db: Database, interval: float, stop: asyncio.Event, grace_us: int = 0) -> None:
    """A round every `interval` seconds until `stop`, in one process at a time across
    every server and worker on the database (meterline.jobs.leader)."""
    await run_as_leader(db, name=JOB_NAME, interval=interval, work=lambda: _round(db, grace_us), stop=stop)


def start(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """routers.BACKGROUND entry: issue due invoices every METERLINE_INVOICE_INTERVAL seconds
    (METERLINE_INVOICE_GRACE_SECONDS after their cycle ends)."""
    db: Database = app.state.db
    settings = app.state.settings
    grace_us = grace_of(settings)
    return start_periodic(db, name=JOB_NAME, interval=settings.invoice_interval, work=lambda: _round(db, grace_us))
