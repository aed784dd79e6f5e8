"""Issuing: the `meterline invoices close` command, the background job, concurrent closers."""

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.db.engine import Database, transaction
from meterline.db.tables.billing import invoices as invoices_table
from meterline.invoices.job import close_until, run_forever
from meterline.kit.times import parse_instant, to_us
from tests.invoices.api import contract, customer, grant, invoices, ledger, product_line

MeterlineBin = str(Path(sys.executable).with_name("meterline"))
SUB = {"type": "SUBSCRIPTION", "price": 100, "subscriptionCadence": {"unit": "MONTH", "value": 1}}


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "METERLINE_DATABASE_URL": db_url}
    return subprocess.run([MeterlineBin, *args], env=env, capture_output=True, text=True, timeout=120)


def _issued(db: Database) -> list[tuple[int, int | None]]:
    with transaction(db, write=False) as conn:
        rows = conn.execute(
            sa.select(invoices_table.c.cycle_start, invoices_table.c.issued_at).order_by(invoices_table.c.seq)
        )
        return [(r.cycle_start, r.issued_at) for r in rows]


def test_cli_close_until(api: TestClient, database_url: str) -> None:
    cid = customer(api)
    grant(api, cid, "30")
    contract(api, cid, product_line(SUB), start="2030-01-01T00:00:00Z", end="2030-06-01T00:00:00Z")
    refused = _cli(database_url, "invoices", "close", "--until", "2030-03-01T00:00:00Z")
    assert refused.returncode == 1 and "--yes" in refused.stderr and refused.stdout == ""
    assert invoices(api, customerId=cid) == []  # refused: nothing issued
    out = _cli(database_url, "invoices", "close", "--until", "2030-03-01T00:00:00.000000+0000", "--json", "--yes")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["startTime"], r["endTime"], r["total"]) for r in rows] == [
        ("2030-01-01T00:00:00.000Z", "2030-02-01T00:00:00.000Z", "70.00"),
        ("2030-02-01T00:00:00.000Z", "2030-03-01T00:00:00.000Z", "100.00"),
    ]
    assert "issued 2 invoice(s)" in out.stderr
    again = _cli(database_url, "invoices", "close", "--until", "2030-03-01T00:00:00Z", "--yes")
    assert again.returncode == 0 and again.stdout == "" and "issued 0 invoice(s)" in again.stderr
    got = invoices(api, customerId=cid)
    assert [i["id"] for i in got] == [r["invoiceId"] for r in rows]
    assert got[0]["revenueBreakdown"]["creditsUsed"] == 30 and got[0]["dueDate"] == "2030-03-03T00:00:00.000Z"
    bad = _cli(database_url, "invoices", "close", "--until", "someday")
    assert bad.returncode == 1 and "until" in bad.stderr


def test_background_job_issues_without_any_read(api: TestClient, db: Database) -> None:
    cid = customer(api)
    contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-03-01T00:00:00Z")
    assert _issued(db) == []

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_forever(db, 0.05, stop))
        for _ in range(200):
            if len([1 for _, issued in _issued(db) if issued is not None]) == 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(run())
    assert [issued for _, issued in _issued(db)] == [
        to_us(parse_instant("2025-02-01T00:00:00Z", param="t")),
        to_us(parse_instant("2025-03-01T00:00:00Z", param="t")),
    ]


def test_concurrent_closers_issue_once(api: TestClient, db: Database) -> None:
    cid = customer(api)
    grant(api, cid, "1000")
    contract(api, cid, product_line(SUB), start="2025-01-01T00:00:00Z", end="2025-07-01T00:00:00Z")
    until = to_us(parse_instant("2025-07-01T00:00:00Z", param="t"))
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            counts.append(len(close_until(db, until=until)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) == 6
    deducts = [e for e in ledger(api, cid)["entries"] if e["type"] == "Deduct"]
    assert [e["amount"] for e in deducts] == [100] * 6
    assert ledger(api, cid)["balance"] == 400
