"""All SQL of stored events. Every query filters on account_id."""

import secrets
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from meterline.db.raw import driver_sql, fetch, marks
from meterline.db.tables.metering import events

_E = events.c
_CHUNK = 500
_COLS = (_E.seq, _E.id, _E.ref, _E.name, _E.customer_alias, _E.ts, _E.data, _E.created_at)

# Row tuple for insert_new: (id, account_id, ref, name, customer_alias, ts, data_json, created_at)
EventRow = tuple[str, str, str, str, str, int, str | None, int]


def raw_executemany(conn: sa.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """executemany on the DBAPI cursor of this connection's transaction (the hot path;
    SQLAlchemy's per-row parameter handling costs more than SQLite's insert)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


class NulInText(ValueError):
    """PostgreSQL text cannot hold U+0000 (SQLite can): raised by insert_new instead of
    the driver's error when an event's text holds it (the client's text, not our fault)."""


_LOCK_KEY = "meterline.events:"


def lock_account(conn: sa.Connection, account_id: str) -> None:
    """Exclusive: wait for every writer of this account's events and rollups, and keep
    them out until the transaction ends (PostgreSQL; SQLite writers already hold the
    database write lock from BEGIN IMMEDIATE). Taken by whatever rebuilds buckets from the
    stored events (deletes, backfills, dropping a meter): a merge must not interleave."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY + account_id,))


def lock_account_shared(conn: sa.Connection, account_id: str) -> None:
    """Shared: ingestion's side of lock_account. Batches of one account hold it together
    (their merges add up in the database, see usage.merge_repository.execute_merges) while a
    rebuild waits for all of them, and they for it. Transaction-scoped: fine behind
    PgBouncer in transaction pooling mode. No-op on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (_LOCK_KEY + account_id,))


_INSERT = (
    "INSERT INTO events (id, account_id, ref, name, customer_alias, ts, data, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, ref) DO NOTHING"
)

# PostgreSQL. First a COPY of the batch (bulk-inserted: the fastest write PostgreSQL has,
# measured ~2x an INSERT of the same rows) in a savepoint: when no ref of it is stored,
# which is the common case, that is all. If some ref is (COPY fails on the unique index),
# the savepoint is rolled back and the batch goes through INSERT ... ON CONFLICT DO
# NOTHING RETURNING ref, which says exactly which rows are ours. Either way rows go in ref
# order, so two transactions inserting overlapping refs wait for each other in one order
# (never a deadlock), and the unique index decides: an insert of a ref that a concurrent
# transaction has inserted waits for that one's end, then fails / skips if it committed.
_COPY_PG = "COPY events (id, account_id, ref, name, customer_alias, ts, data, created_at) FROM STDIN"
_INSERT_PG = (
    "INSERT INTO events (id, account_id, ref, name, customer_alias, ts, data, created_at) "
    "SELECT u.id, %s, u.ref, u.name, u.alias, u.ts, u.data, u.created_at FROM unnest("
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::int8[], %b::text[], %b::int8[]"
    ") WITH ORDINALITY AS u(id, ref, name, alias, ts, data, created_at, ord) ORDER BY u.ord "
    "ON CONFLICT (account_id, ref) DO NOTHING RETURNING ref"
)


def insert_new(conn: sa.Connection, account_id: str, rows: Sequence[EventRow]) -> set[str]:
    """Insert these rows, skipping refs already stored (or being stored by a concurrent
    transaction that then commits); answer the skipped refs. The unique index
    uq_events_account_ref does the duplicate check as part of the insert."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        return _insert_new_pg(conn, account_id, rows)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(driver_sql(conn.dialect.name, _INSERT), rows)
        inserted = cursor.rowcount
    finally:
        cursor.close()
    if inserted == len(rows):
        return set()
    # Only when some row was skipped (the count of changes says so) are the refs read
    # back, to tell ours (by id) from the ones stored before (SQLite writers hold the
    # database lock: nothing changes in between).
    ours = {r[2]: r[0] for r in rows}
    refs = list(ours)
    taken: set[str] = set()
    for i in range(0, len(refs), _CHUNK):
        chunk = refs[i : i + _CHUNK]
        sql = f"SELECT ref, id FROM events WHERE account_id = ? AND ref IN ({marks(len(chunk))})"
        found = conn.exec_driver_sql(driver_sql(conn.dialect.name, sql), (account_id, *chunk)).fetchall()
        taken.update(ref for ref, id_ in found if ours[ref] != id_)
    return taken


def _insert_new_pg(conn: sa.Connection, account_id: str, rows: Sequence[EventRow]) -> set[str]:
    import psycopg  # PostgreSQL's driver: not loaded by SQLite deployments

    ordered = sorted(rows, key=lambda r: r[2])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SAVEPOINT ml_events_copy")
        try:
            with cursor.copy(_COPY_PG) as copy:
                for row in ordered:
                    copy.write_row(row)
        except psycopg.DataError as exc:
            if "NUL (0x00)" in str(exc):  # psycopg's own check of the text it sends
                raise NulInText(str(exc)) from None
            raise
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT ml_events_copy")
        else:
            cursor.execute("RELEASE SAVEPOINT ml_events_copy")
            return set()
        _id, _acc, ref, name, alias, ts, data, created = zip(*ordered, strict=True)
        params = (account_id, list(_id), list(ref), list(name), list(alias), list(ts), list(data), list(created))
        cursor.execute(_INSERT_PG, params)
        stored = {r[0] for r in cursor.fetchall()}
    finally:
        cursor.close()
    return set(ref) - stored


def get_by_refs(conn: sa.Connection, account_id: str, refs: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(refs), _CHUNK):
        rows = conn.execute(
            sa.select(*_COLS).where(_E.account_id == account_id, _E.ref.in_(refs[i : i + _CHUNK])).order_by(_E.seq)
        )
        out += [dict(r._mapping) for r in rows]
    return out


def delete_seqs(conn: sa.Connection, account_id: str, seqs: Sequence[int]) -> None:
    for i in range(0, len(seqs), _CHUNK):
        conn.execute(sa.delete(events).where(_E.account_id == account_id, _E.seq.in_(seqs[i : i + _CHUNK])))


def _filters(
    account_id: str, start_us: int, end_us: int, name: str | None, alias: str | None
) -> list[sa.ColumnElement[bool]]:
    where = [_E.account_id == account_id, _E.ts >= start_us, _E.ts < end_us]
    if name is not None:
        where.append(_E.name == name)
    if alias is not None:
        where.append(_E.customer_alias == alias)
    return where


def page(
    conn: sa.Connection,
    account_id: str,
    *,
    start_us: int,
    end_us: int,
    name: str | None,
    alias: str | None,
    after_seq: int,
    limit: int,
    matches: int | None = None,
) -> list[dict[str, Any]]:
    """Up to limit + 1 matching events after after_seq, in creation (seq) order.

    `matches`: how many events the filters match, when the caller counted them. When few
    (≤ SORT_MATCHES), they are read through the (account, ts) or (account, name, alias,
    ts) index and sorted, never by walking the seq order: PostgreSQL's planner, expecting
    matches spread evenly, otherwise walks the primary key from the start, and when the
    range's events were stored late (time-ordered loads) it filters out hundreds of
    thousands of rows first (300 ms for one day of 1 M events, measured)."""
    order = _E.seq + 0 if matches is not None and matches <= SORT_MATCHES else _E.seq
    rows = conn.execute(
        sa.select(*_COLS)
        .where(*_filters(account_id, start_us, end_us, name, alias), _E.seq > after_seq)
        .order_by(order)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


SORT_MATCHES = 20_000


def count(
    conn: sa.Connection,
    account_id: str,
    *,
    start_us: int,
    end_us: int,
    name: str | None,
    alias: str | None,
    cap: int | None = None,
) -> int:
    """How many events match the filters. With `cap`, at most cap + 1 index entries are
    read (an exact count of a million events takes 0.1-0.5 s): answers min(count, cap + 1)."""
    where = _filters(account_id, start_us, end_us, name, alias)
    if cap is None:
        stmt = sa.select(sa.func.count()).select_from(events).where(*where)
    else:
        capped = sa.select(sa.literal(1)).select_from(events).where(*where).limit(cap + 1).subquery()
        stmt = sa.select(sa.func.count()).select_from(capped)
    return int(conn.execute(stmt).scalar_one())


def in_ranges(
    conn: sa.Connection, account_id: str, name: str, aliases: Sequence[str], ranges: Sequence[tuple[int, int]]
) -> list[tuple[int, str, str, str | None]]:
    """(ts, ref, alias, data_json) of the events named `name` of these aliases in [a, b) ranges."""
    return [row[1:] for row in in_ranges_many(conn, account_id, aliases, [(0, name, ranges)])]


def in_ranges_many(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    parts: Sequence[tuple[int, str, Sequence[tuple[int, int]]]],
) -> list[tuple[int, int, str, str, str | None]]:
    """(tag, ts, ref, alias, data_json) for each part (tag, event name, [a, b) ranges): one
    UNION ALL of indexed range scans."""
    terms = [(tag, name, r) for tag, name, ranges in parts for r in ranges]
    if not terms or not aliases:
        return []
    one = (
        "SELECT ? AS tag, ts, ref, customer_alias, data FROM events WHERE account_id = ? AND name = ? "
        f"AND customer_alias IN ({marks(len(aliases))}) AND ts >= ? AND ts < ?"
    )
    out: list[tuple[int, int, str, str, str | None]] = []
    per = max(1, min(400, 30_000 // (6 + len(aliases))))  # SQLite: 500 terms, 32766 parameters
    for i in range(0, len(terms), per):
        chunk = terms[i : i + per]
        sql = " UNION ALL ".join([one] * len(chunk))
        params = [v for tag, name, r in chunk for v in (tag, account_id, name, *aliases, *r)]
        out += fetch(conn, sql, params)
    return out


def count_named(conn: sa.Connection, account_id: str, name: str) -> int:
    stmt = sa.select(sa.func.count()).select_from(events).where(_E.account_id == account_id, _E.name == name)
    return int(conn.execute(stmt).scalar_one())


def stream_named(
    conn: sa.Connection, account_id: str, name: str, *, chunk: int = 20_000
) -> Iterator[list[tuple[int, str, str, str | None]]]:
    """Every event named `name`, in chunks of (ts, ref, alias, data_json), by keyset on seq."""
    after = 0
    while True:
        rows = conn.execute(
            sa.select(_E.seq, _E.ts, _E.ref, _E.customer_alias, _E.data)
            .where(_E.account_id == account_id, _E.name == name, _E.seq > after)
            .order_by(_E.seq)
            .limit(chunk)
        ).all()
        if not rows:
            return
        after = rows[-1].seq
        yield [(r.ts, r.ref, r.customer_alias, r.data) for r in rows]


def day_counts(conn: sa.Connection, account_id: str, start_us: int, end_us: int) -> list[tuple[str, str, int]]:
    """(event name, alias, count) of the events with timestamp in [start_us, end_us): one
    grouped range scan of ix_events_account_ts (UnchargedEvents, once per account and day)."""
    rows = conn.execute(
        sa.select(_E.name, _E.customer_alias, sa.func.count())
        .where(_E.account_id == account_id, _E.ts >= start_us, _E.ts < end_us)
        .group_by(_E.name, _E.customer_alias)
        .order_by(_E.name, _E.customer_alias)
    )
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def max_seq(conn: sa.Connection) -> int:
    """The highest event seq stored (any account; 0 when none): a rebuild's high-water mark."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_E.seq), 0))).scalar_one())


def count_named_upto(conn: sa.Connection, account_id: str, name: str, upto_seq: int) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(events)
        .where(_E.account_id == account_id, _E.name == name, _E.seq <= upto_seq)
    )
    return int(conn.execute(stmt).scalar_one())


def chunk_named(
    conn: sa.Connection, account_id: str, name: str, *, after_seq: int, upto_seq: int, limit: int
) -> list[tuple[int, int, str, str, str | None]]:
    """Up to `limit` events named `name` with seq in (after_seq, upto_seq], by seq:
    (seq, ts, ref, alias, data_json)."""
    rows = conn.execute(
        sa.select(_E.seq, _E.ts, _E.ref, _E.customer_alias, _E.data)
        .where(_E.account_id == account_id, _E.name == name, _E.seq > after_seq, _E.seq <= upto_seq)
        .order_by(_E.seq)
        .limit(limit)
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def any_named(conn: sa.Connection, account_id: str, name: str) -> bool:
    """Whether the account has stored an event of this name (one index probe)."""
    stmt = sa.select(sa.literal(1)).where(_E.account_id == account_id, _E.name == name).limit(1)
    return conn.execute(stmt).first() is not None


# -- ingestion counts (table ingest_counts) ------------------------------------------

_COUNT_SHARDS = 16


def add_ingest_counts(
    conn: sa.Connection, account_id: str, *, day: int, accepted: int, invalid: int, duplicate: int
) -> None:
    """Add one batch's counts to its (account, UTC day) row. PostgreSQL: one of 16 shard
    rows at random, so concurrent batches of an account rarely wait on each other's row
    lock until commit; SQLite has one writer, so one row."""
    shard = secrets.randbelow(_COUNT_SHARDS) if conn.dialect.name == "postgresql" else 0
    sql = (
        "INSERT INTO ingest_counts (account_id, day, shard, accepted, invalid, duplicate) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, day, shard) DO UPDATE SET "
        "accepted = ingest_counts.accepted + excluded.accepted, "
        "invalid = ingest_counts.invalid + excluded.invalid, "
        "duplicate = ingest_counts.duplicate + excluded.duplicate"
    )
    conn.exec_driver_sql(driver_sql(conn.dialect.name, sql), (account_id, day, shard, accepted, invalid, duplicate))


def ingest_counts_by_day(conn: sa.Connection, account_id: str, start_day: int, end_day: int) -> list[tuple[int, ...]]:
    """[(day, accepted, invalid, duplicate)] for start_day <= day < end_day, by day."""
    sql = (
        "SELECT day, SUM(accepted), SUM(invalid), SUM(duplicate) FROM ingest_counts "
        "WHERE account_id = ? AND day >= ? AND day < ? GROUP BY day ORDER BY day"
    )
    rows = conn.exec_driver_sql(driver_sql(conn.dialect.name, sql), (account_id, start_day, end_day)).all()
    return [tuple(int(v) for v in row) for row in rows]
