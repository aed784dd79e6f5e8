"""The reads of products consumption that belong to no other domain's use case, as
prebuilt SQL (the endpoint's budget is about a millisecond; see docs/operations.md).
Every query filters on account_id."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.db.engine import READER
from meterline.db.raw import fetch, marks

_ALIASES = (
    "SELECT c.id, a.alias FROM customers c LEFT JOIN customer_aliases a "
    "ON a.account_id = c.account_id AND a.customer_id = c.id "
    "WHERE c.account_id = ? AND c.id = ? AND c.deleted_at IS NULL"
)


def customer_aliases(conn: sa.Connection, account_id: str, customer_id: str) -> list[str] | None:
    """The aliases of a live customer ([] if it has none); None when there is no such customer."""
    rows = fetch(conn, _ALIASES, (account_id, customer_id))
    if not rows:
        return None
    return [r[1] for r in rows if r[1] is not None]


_BY_ALIAS = (
    "SELECT c.id FROM customer_aliases a JOIN customers c ON c.account_id = a.account_id AND c.id = a.customer_id "
    "WHERE a.account_id = ? AND a.alias = ? AND c.deleted_at IS NULL"
)


def customer_of_alias(conn: sa.Connection, account_id: str, alias: str) -> str | None:
    """The id of the live customer holding this alias; None when none does."""
    rows = fetch(conn, _BY_ALIAS, (account_id, alias))
    return str(rows[0][0]) if rows else None


def measurements(
    conn: sa.Connection, account_id: str, customer_id: str, meter_ids: Sequence[str], start_us: int, end_us: int
) -> list[tuple[str, int, Decimal]]:
    """(meter_id, day_us, value) of the customer's measurements of these meters dated in [start_us, end_us)."""
    ids = sorted(set(meter_ids))
    if not ids or start_us >= end_us:
        return []
    rows = fetch(
        conn,
        f"SELECT meter_id, day_us, value FROM measurements WHERE account_id = ? AND customer_id = ? "
        f"AND meter_id IN ({marks(len(ids))}) AND day_us >= ? AND day_us < ?",
        (account_id, customer_id, *ids, start_us, end_us),
    )
    return [(r[0], r[1], Decimal(r[2])) for r in rows]


_BALANCE = "SELECT balance FROM credit_balances WHERE account_id = ? AND customer_id = ?"


def balance(conn: sa.Connection, account_id: str, customer_id: str) -> Decimal:
    """The customer's credit balance (0 without a ledger)."""
    rows = fetch(conn, _BALANCE, (account_id, customer_id))
    return Decimal(rows[0][0]) if rows else Decimal(0)


# What a customer's products-consumptions read is computed from, as one row (PostgreSQL;
# consumption/cache.py): per definition table the xmin of each row the read may use (any
# INSERT, UPDATE or DELETE of a row changes that list: a new row version carries the id of
# a transaction that committed after the snapshot the list was taken in, never one of the
# list's), each alias's fold generation (usage_generations) and its rows waiting in the
# backlog (every new event is there until a fold, and a fold raises the generation).
def _versions(table: str, where: str) -> str:
    return f"(SELECT string_agg(xmin::text, ',') FROM {table} WHERE {where})"


_AL = "WITH al AS (SELECT alias FROM customer_aliases WHERE account_id = ? AND customer_id = ?) "
_VERSIONS = (
    _AL
    + "SELECT "
    + ", ".join(
        [
            _versions("customers", "account_id = ? AND id = ?"),
            _versions("customer_aliases", "account_id = ? AND customer_id = ?"),
            _versions("contracts", "account_id = ? AND customer_id = ?"),
            _versions("catalog_products", "account_id = ?"),
            _versions("meters", "account_id = ?"),
            _versions("measurements", "account_id = ? AND customer_id = ? AND day_us >= ?"),
            _versions("credit_balances", "account_id = ? AND customer_id = ?"),
            "(SELECT coalesce(sum(gen), 0) || '/' || count(*) FROM usage_generations "
            "WHERE account_id = ? AND alias IN (SELECT alias FROM al))",
            "(SELECT count(*) FROM rollup_backlog WHERE account_id = ? AND alias IN (SELECT alias FROM al))",
        ]
    )
)
# The instants after `?` at which time alone changes the answer: the next contract start,
# the customer's first stored event and first measurement day (read once, when filling).
_NEXT = (
    _AL
    + "SELECT (SELECT min(start_us) FROM contracts WHERE account_id = ? AND customer_id = ? "
    "AND deleted_at IS NULL AND start_us > ?), "
    "(SELECT ts FROM events WHERE account_id = ? AND ts >= ? AND customer_alias IN (SELECT alias FROM al) "
    "ORDER BY ts LIMIT 1), "
    "(SELECT min(day_us) FROM measurements WHERE account_id = ? AND customer_id = ? AND day_us >= ?)"
)


def fingerprint(conn: sa.Connection, account_id: str, customer_id: str, *, since_us: int) -> tuple[Any, ...]:
    """The versions of what the customer's read is computed from, one statement: equal at
    two snapshots, the read answers the same at any instant before the first of
    next_changes. PostgreSQL: the row versions above (`since_us`: measurements dated from
    this day on). SQLite, whose rows carry no version: the connection's `PRAGMA
    data_version`, which changes with every commit of any other connection (the kept read
    connection, Database.read_snapshot, never writes; inside a read transaction it stays
    that of the transaction's snapshot), with the connection's own number (a counter means
    nothing on another connection)."""
    if conn.dialect.name == "sqlite":
        reader = conn.info.get(READER)
        if reader is None:  # not a kept read connection: a fingerprint equal to no other
            return (object(),)
        return (reader, fetch(conn, "PRAGMA data_version", ())[0][0])
    a, c = account_id, customer_id
    return tuple(fetch(conn, _VERSIONS, (a, c, a, c, a, c, a, c, a, a, a, c, since_us, a, c, a, a))[0])


def next_changes(conn: sa.Connection, account_id: str, customer_id: str, after_us: int) -> list[int | None]:
    """[the first contract start after after_us, the first event of the customer's aliases
    at or after it, the first measurement day at or after it] (None: none)."""
    a, c, t = account_id, customer_id, after_us
    return list(fetch(conn, _NEXT, (a, c, a, c, t, a, t, a, c, t))[0])
