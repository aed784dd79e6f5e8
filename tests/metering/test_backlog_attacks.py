"""Attacks on the rollup backlog (usage/backlog.py): a fold committing in the middle of a
usage read. A read transaction (REPEATABLE READ on PostgreSQL, SQLite's snapshot) sees one
snapshot. Reads in PostgreSQL's READ COMMITTED write transactions:
test_backlog_read_committed.py."""

from typing import Any

import pytest

from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.usage import backlog, backlog_repository
from meterline.usage import service as usage_service
from tests.metering.factories import (
    event,
    meter_body,
    stored_meter,
)

pytestmark = pytest.mark.usefixtures("folder_everywhere")


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


START, END = _us("2026-01-01T00:00:00Z"), _us("2026-02-01T00:00:00Z")


def _fold_midway(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[int]:
    """Make the next read's backlog query fold the whole backlog (in another transaction,
    committed) right after it answers: the rest of the read then runs after the fold."""
    original = backlog_repository.in_windows
    folded: list[int] = []

    def in_windows(*args: Any, **kwargs: Any) -> Any:
        rows = original(*args, **kwargs)
        if not folded:
            folded.append(backlog.fold_all(db, chunk=10_000))
        return rows

    monkeypatch.setattr(backlog_repository, "in_windows", in_windows)
    return folded


# -- a fold committing in the middle of a read ------------------------------------------


def test_a_fold_during_a_read_transaction_changes_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read transaction (REPEATABLE READ on PostgreSQL, SQLite's snapshot): a fold that
    commits between its backlog query and its rollup queries is not seen by either."""
    events = [event(f"e{i}", ts=f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:10:00Z", value=i) for i in range(40)]
    account_id, meter_id = stored_meter(db, meter_body("Sum"), events, fold=False)
    folded = _fold_midway(monkeypatch, db)
    with transaction(db, write=False) as conn:
        got = usage_service.usage(
            conn, account_id=account_id, aliases=["acme"], meter_id=meter_id, start_us=START, end_us=END
        )
    assert folded == [40]
    assert got == sum(range(40))
