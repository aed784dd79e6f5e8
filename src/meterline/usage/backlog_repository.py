"""SQL of the rollup backlog (table rollup_backlog, migration 0016): events stored but not
yet merged into the rollups. Rows are (account_id, alias, name, ts, event_id, ref, data);
`ts` in µs UTC, `data` the event's JSON text. See usage/backlog.py for the protocol."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from meterline.db.raw import driver_sql, fetch, marks

BacklogRow = tuple[str, str, str, int, str, str, str | None]

# The backends whose ingestion may leave a batch's rollups to the folder (their reads then
# add the backlog), and those where it always does. PostgreSQL writers run in parallel and
# the merges were most of each batch's server time: there the folder always pays
# (BENCHMARKS.md). SQLite has one writer at a time: a batch whose events share few buckets
# (live traffic: a batch's timestamps within a second) merges in the request, planned
# before the write lock (events.service.prescreen), cheaper than a copy in the backlog; a
# batch whose events fall in more distinct (alias, hour) buckets than SPREAD x its events (a
# backfill: nearly one bucket per event) of at least MIN_EVENTS events goes to the backlog,
# and the folder merges many such batches in one transaction. Measured on SQLite, `python
# -m bench metering`, 2 workers, ingestion / floor (2026-11-30, a noisy machine): every
# batch deferred, live 0.272 and backfill 0.267; every batch merged in the request, live
# 0.321 and backfill 0.182; this rule, live 0.270-0.304 and backfill 0.206-0.210.
DEFERS = frozenset({"postgresql", "sqlite"})
ALWAYS = frozenset({"postgresql"})
SPREAD = 0.5
MIN_EVENTS = 100


_COLUMNS = "account_id, alias, name, ts, event_id, ref, data"
_KEY = "account_id, alias, name, ts, event_id"
_INSERT = f"INSERT INTO rollup_backlog ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_COPY_PG = f"COPY rollup_backlog ({_COLUMNS}) FROM STDIN"


def defers(conn: sa.Connection) -> bool:
    """Whether ingestion on this connection's backend may write the backlog (its reads then
    add it): DEFERS."""
    return conn.dialect.name in DEFERS


def defers_batch(conn: sa.Connection, *, events: int, buckets: int) -> bool:
    """Whether a batch of `events` events falling in `buckets` distinct (alias, hour) goes
    to the backlog (else its request merges the rollups): always on ALWAYS backends, on
    the others when it has MIN_EVENTS events or more and buckets > SPREAD x events."""
    name = conn.dialect.name
    return name in DEFERS and (name in ALWAYS or (events >= MIN_EVENTS and buckets > SPREAD * events))


def add(conn: sa.Connection, rows: Sequence[BacklogRow]) -> None:
    """Write these rows (PostgreSQL: one COPY, in key order; SQLite: executemany)."""
    if not rows:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(_COPY_PG) as copy:
                for row in sorted(rows):
                    copy.write_row(row)
        else:
            cursor.executemany(_INSERT, rows)
    finally:
        cursor.close()


def accounts_waiting(conn: sa.Connection, *, rows: int, accounts: int, after: str = "") -> list[str]:
    """Up to `accounts` accounts of the first `rows` rows in key order whose account id
    is above `after` (sorted)."""
    sql = (
        "SELECT DISTINCT account_id FROM (SELECT account_id FROM rollup_backlog WHERE account_id > ? "
        f"ORDER BY {_KEY} LIMIT ?) AS b ORDER BY account_id LIMIT ?"
    )
    return [r[0] for r in fetch(conn, sql, (after, rows, accounts))]


def take(conn: sa.Connection, accounts: Sequence[str], limit: int | None) -> list[BacklogRow]:
    """Delete and answer up to `limit` rows (None: all) of these accounts, in key order.
    PostgreSQL: rows another transaction is taking are skipped (SKIP LOCKED), so two
    folders never take one row; a caller holding the account's exclusive lock sees none
    being taken."""
    if not accounts:
        return []
    where = f"account_id IN ({marks(len(accounts))})"
    cap = "" if limit is None else f" LIMIT {int(limit)}"
    if conn.dialect.name == "postgresql":
        sql = (
            f"DELETE FROM rollup_backlog WHERE ctid IN (SELECT ctid FROM rollup_backlog WHERE {where} "
            f"ORDER BY {_KEY}{cap} FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}"
        )
    else:
        sql = (
            f"DELETE FROM rollup_backlog WHERE ({_KEY}) IN (SELECT {_KEY} FROM rollup_backlog WHERE {where} "
            f"ORDER BY {_KEY}{cap}) RETURNING {_COLUMNS}"
        )
    rows = conn.exec_driver_sql(driver_sql(conn.dialect.name, sql), tuple(accounts)).all()
    return sorted(tuple(r) for r in rows)


_BUMP = (
    "INSERT INTO usage_generations (account_id, alias, gen) VALUES (?, ?, 1) "
    "ON CONFLICT (account_id, alias) DO UPDATE SET gen = usage_generations.gen + 1"
)
_BUMP_PG = (
    "INSERT INTO usage_generations (account_id, alias, gen) SELECT u.a, u.l, 1 "
    "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(a, l, o) ORDER BY u.o "
    "ON CONFLICT (account_id, alias) DO UPDATE SET gen = usage_generations.gen + 1"
)


def bump_generations(conn: sa.Connection, pairs: Sequence[tuple[str, str]]) -> None:
    """Raise the generation of these (account_id, alias)s by one (migration 0017): in every
    transaction that changes their folded usage. Rows are taken in sorted order, and callers
    do it last (or under the account's exclusive lock), so bumpers never wait in a cycle."""
    keys = sorted(set(pairs))
    if not keys:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute(_BUMP_PG, ([a for a, _ in keys], [alias for _, alias in keys]))
        else:
            cursor.executemany(_BUMP, keys)
    finally:
        cursor.close()


def generations(conn: sa.Connection, account_id: str, aliases: Sequence[str]) -> tuple[Any, ...]:
    """(sum, count) of these aliases' generations: changes whenever a transaction folding or
    deleting some of their events has committed."""
    if not aliases:
        return ()
    sql = (
        "SELECT coalesce(sum(gen), 0), count(*) FROM usage_generations "
        f"WHERE account_id = ? AND alias IN ({marks(len(aliases))})"
    )
    return tuple(fetch(conn, sql, (account_id, *aliases))[0])


def in_windows(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[tuple[str, int, int]]
) -> list[tuple[str, int, str, str, str | None]]:
    """(name, ts, ref, alias, data) of the rows of these aliases for each part (event
    name, start µs, end µs), sorted by ts: one UNION ALL of indexed range scans."""
    if not parts or not aliases:
        return []
    one = (
        "SELECT name, ts, ref, alias, data FROM rollup_backlog WHERE account_id = ? "
        f"AND alias IN ({marks(len(aliases))}) AND name = ? AND ts >= ? AND ts < ?"
    )
    per = max(1, min(400, 30_000 // (6 + len(aliases))))  # SQLite: 500 terms, 32766 parameters
    out: list[Any] = []
    for i in range(0, len(parts), per):
        chunk = parts[i : i + per]
        sql = " UNION ALL ".join([one] * len(chunk))
        out += fetch(conn, sql, [v for name, a, b in chunk for v in (account_id, *aliases, name, a, b)])
    out.sort(key=lambda r: r[1])
    return out


def size(conn: sa.Connection) -> int:
    """Rows waiting (all accounts)."""
    return int(fetch(conn, "SELECT count(*) FROM rollup_backlog", ())[0][0])


def vacuum(db_engine: sa.Engine) -> None:
    """PostgreSQL: VACUUM the backlog (outside any transaction; a VACUUM already running
    elsewhere is not waited for). Its rows live for seconds: without this, the dead ones
    pile up between autovacuum runs and every read's backlog scan visits them (measured:
    a consumption read at 1 M stored events went from ~3 ms to ~320 ms with 1 M dead
    rows). SQLite deletes rows in place: nothing to do."""
    if db_engine.dialect.name != "postgresql":
        return
    with db_engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (SKIP_LOCKED) rollup_backlog")
