"""The part of a usage read that the rollup backlog adds (usage/backlog.py): the events
stored and not yet folded into the rollups, read over the span of the windows and added
to the read's raw events; and whether the read's transaction sees one snapshot (else
usage.service.window_values checks that no fold or delete committed meanwhile)."""

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from meterline.kit import jsonenc
from meterline.meters.spec import MeterSpec
from meterline.usage import backlog_repository as backlog_repo


def snapshot_per_statement(conn: sa.Connection) -> bool:
    """Whether each statement of this transaction sees its own snapshot (PostgreSQL's
    READ COMMITTED: every transaction but engine.transaction's reads)."""
    if conn.dialect.name != "postgresql" or not isinstance(conn, sa.Connection):
        return False
    return conn.get_execution_options().get("isolation_level") not in ("REPEATABLE READ", "SERIALIZABLE")


def backlog_rows(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    items: Sequence[tuple[dict[str, Any], int, int]],
    rids: Sequence[str | None],
    specs: Sequence[MeterSpec],
) -> list[tuple[str, int, str, str, str | None]]:
    """The backlog rows (usage/backlog.py) of the items with rollups, per event name over
    the span of their windows, sorted by ts. None asked on a backend whose ingestion always
    merges its own rollups (none by default: backlog_repository.DEFERS)."""
    if not backlog_repo.defers(conn):
        return []
    spans: dict[str, tuple[int, int]] = {}
    for k, (_row, start, end) in enumerate(items):
        if rids[k] is not None and start < end:
            name = specs[k].event_name
            a, b = spans.get(name, (start, end))
            spans[name] = (min(a, start), max(b, end))
    if not spans:
        return []
    return backlog_repo.in_windows(conn, account_id, aliases, [(n, a, b) for n, (a, b) in sorted(spans.items())])


def add_backlog(
    rows: Sequence[tuple[str, int, str, str, str | None]],
    items: Sequence[tuple[dict[str, Any], int, int]],
    rids: Sequence[str | None],
    specs: Sequence[MeterSpec],
    plans: Sequence[tuple[list[tuple[int, int]], list[tuple[int, int, int]]]],
    edges: dict[int, list[tuple[int, str, str, Any]]],
) -> None:
    """Add to `edges` each item's events not yet folded into its rollups (`rows`, of
    backlog_rows) whose timestamp lies in its window but outside its raw ranges (those are
    read from the stored events, backlog included). Items without rollups read only stored
    events."""
    if not rows:
        return
    stamps = [r[1] for r in rows]
    for k, (_row, start, end) in enumerate(items):
        if rids[k] is None or start >= end:
            continue
        name, raw = specs[k].event_name, plans[k][0]
        for i in range(bisect_left(stamps, start), bisect_left(stamps, end)):
            ev_name, ts, ref, alias, data = rows[i]
            if ev_name == name and not any(a <= ts < b for a, b in raw):
                edges.setdefault(k, []).append((ts, ref, alias, None if data is None else jsonenc.loads(data)))
