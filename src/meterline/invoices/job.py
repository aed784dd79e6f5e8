"""Issuing due invoices: the in-process background job and the CLI's `invoices close`."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI

from meterline.auth import repository as auth_repo
from meterline.db.engine import Database, transaction
from meterline.invoices import service
from meterline.jobs.leader import run_as_leader, start_periodic
from meterline.kit import metrics
from meterline.kit.times import now_us

log = structlog.get_logger("meterline.invoices")


def close_until(
    db: Database, *, until: int, account_id: str | None = None, keep_going: bool = False
) -> list[service.Issued]:
    """Issue every invoice whose cycle ends at or before `until`, account by account (one
    transaction each). Idempotent: an issued invoice is never issued again. With
    keep_going, an account that fails is logged and skipped (the next round retries it)."""
    with transaction(db, write=False) as conn:
        accounts = [account_id] if account_id else [r["id"] for r in auth_repo.list_accounts(conn)]
    issued: list[service.Issued] = []
    for account in accounts:
        try:
            with transaction(db) as conn:
                issued += service.catch_up(conn, account_id=account, until=until, now=now_us())
        except Exception:
            if not keep_going:
                raise
            log.exception("invoice_issue_error", account_id=account)
    return issued


JOB_NAME = "invoice-close"


def _round(db: Database) -> None:
    with metrics.job_round("invoices"):
        close_until(db, until=now_us(), keep_going=True)


async def run_forever(db: Database, interval: float, stop: asyncio.Event) -> None:
    """Issue due invoices every `interval` seconds until `stop`, in one process at a time
    across every server and worker on the database (meterline.jobs.leader)."""
    await run_as_leader(db, name=JOB_NAME, interval=interval, work=lambda: _round(db), stop=stop)


def start(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """routers.BACKGROUND entry: issue due invoices every METERLINE_INVOICE_INTERVAL seconds."""
    db: Database = app.state.db
    interval = app.state.settings.invoice_interval
    return start_periodic(db, name=JOB_NAME, interval=interval, work=lambda: _round(db))
