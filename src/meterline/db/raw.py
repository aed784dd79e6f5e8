"""Hand-written SQL for hot read paths: prebuilt statement text run on the DBAPI cursor of
the connection's transaction (like events.repository.raw_executemany).

Building and compiling a Core `select()` costs ~100 µs per call, and even exec_driver_sql
~40 µs of result set-up; the driver's own cursor runs a small indexed query in ~10 µs on
SQLite. Statements are written with `?` placeholders; fetch() runs them on PostgreSQL with
its own `$1, $2, ...` on psycopg's RawCursor (native_sql; driver_sql gives the `%s` form).
Values come back as the driver gives them (text, int): callers convert decimals
(Decimal(text)) and JSON documents (json_doc).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from psycopg import RawCursor
from psycopg.pq import ExecStatus

from meterline.kit import jsonenc

TUPLES_OK = ExecStatus.TUPLES_OK
_PG: dict[str, str] = {}
_NATIVE: dict[str, str] = {}
_DOCS: dict[str, Any] = {}
_DOCS_MAX = 4096


def driver_sql(dialect: str, sql: str) -> str:
    """A `?`-placeholder statement in the driver's paramstyle (psycopg: `%s`, `%` escaped)."""
    if dialect == "sqlite":
        return sql
    text = _PG.get(sql)
    if text is None:
        if len(_PG) > 1024:
            _PG.clear()
        text = _PG[sql] = sql.replace("%", "%%").replace("?", "%s")
    return text


def native_sql(sql: str) -> str:
    """A `?`-placeholder statement with PostgreSQL's own `$1, $2, ...` (for psycopg's
    RawCursor, which sends the text as it is: psycopg's `%s` parsing is cached only for
    statements under 4 kB and 50 parameters, and the usage reads' UNIONs exceed both, so it
    ran a regex over each of them on every request, ~0.3 ms of a consumption read)."""
    text = _NATIVE.get(sql)
    if text is None:
        if len(_NATIVE) > 1024:
            _NATIVE.clear()
        pieces = sql.split("?")
        text = _NATIVE[sql] = pieces[0] + "".join(f"${i}{p}" for i, p in enumerate(pieces[1:], 1))
    return text


Statement = tuple[str, tuple[Any, ...]]


class Recorder:
    """Stands for a connection to learn which statements a read would run: fetch() records
    each and answers no row (see prefetched). Only for functions whose statements do not
    depend on the rows of their own earlier ones."""

    def __init__(self, dialect: str) -> None:
        self.dialect = SimpleNamespace(name=dialect)  # what repositories ask of a connection
        self.statements: list[Statement] = []


def recording(recorder: Recorder) -> sa.Connection:
    """The recorder, typed as the connection the repository functions take."""
    return recorder  # type: ignore[return-value]


# PostgreSQL, first in a read's prefetched statements: the prepared statements of this
# transaction run on their generic plan. Left to itself, PostgreSQL kept planning the
# stored-events read of a partial edge hour anew on each execution (a custom plan: the
# generic one's estimate, blind to the range's bounds, looks costlier), 0.1-0.3 ms a read
# where the generic plan (the same index range scan) ran 2-3x faster. Every statement of
# these reads is an index lookup or range scan on the leading key columns.
GENERIC_PLANS: Statement = ("SET LOCAL plan_cache_mode = force_generic_plan", ())


class Ahead:
    """The rows of statements fetched ahead on one connection, until fetch() takes them;
    `missed`: the statements fetched meanwhile that were not (each cost a round trip);
    `ended`: the transaction that fetched them was committed in the same round trip."""

    def __init__(self, rows: dict[Statement, list[list[Any]]], *, ended: bool = False) -> None:
        self.rows = rows
        self.missed = 0
        self.ended = ended


class Mispredicted(Exception):
    """fetch() of a statement that was not fetched ahead, after the transaction that
    fetched the others ended (prefetched with end=True): the read must start over."""


# By the id of the DBAPI connection the rows were fetched on.
_AHEAD: dict[int, Ahead] = {}


@contextmanager
def prefetched(conn: sa.Connection, statements: Sequence[Statement], *, end: bool = False) -> Iterator[Ahead]:
    """PostgreSQL: run these statements now, all in one round trip (psycopg's pipeline
    mode), inside the connection's read transaction (REPEATABLE READ: engine.transaction
    with write=False, as db.session.run_read); within the block, fetch() of exactly one of
    them (same text, same parameters) answers its rows instead of asking the server again.

    Exact whatever was predicted: in one REPEATABLE READ transaction a statement answers the
    same rows whenever it runs, so a fetched-ahead result is the one the read would have
    got; a statement not predicted simply runs. SQLite (no round trip to save): nothing
    is fetched ahead.

    `end`: the same round trip also commits the transaction (saves the COMMIT's), when
    the caller expects every statement it will run to be among these: a statement that is
    not then raises Mispredicted (it would run in another transaction, on another
    snapshot), and the caller runs the read again (in a new transaction, which the driver
    begins with the connection's isolation level). Every statement of such a read must go
    through fetch(): one run on the connection otherwise would run after that COMMIT."""
    if conn.dialect.name == "sqlite" or not statements:
        yield Ahead({})
        return
    dbapi: Any = conn.connection.dbapi_connection
    cursors = []
    with dbapi.pipeline():
        for sql, params in statements:
            cursor = RawCursor(dbapi)
            cursor.execute(native_sql(sql), params)
            cursors.append(cursor)
        if end:
            dbapi.execute("COMMIT")
    ahead = Ahead({}, ended=end)
    for statement, cursor in zip(statements, cursors, strict=True):
        result = cursor.pgresult  # (not .description: it builds a Column per column, ~0.1 ms a read)
        if result is not None and result.status == TUPLES_OK:  # a SET answers no rows
            ahead.rows.setdefault(statement, []).append(list(cursor.fetchall()))  # a statement may recur
        cursor.close()
    _AHEAD[id(dbapi)] = ahead
    try:
        yield ahead
    finally:
        _AHEAD.pop(id(dbapi), None)


def fetch(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """All rows (tuples) of a `?`-placeholder statement."""
    if isinstance(conn, Recorder):
        conn.statements.append((sql, tuple(params)))
        return []
    dbapi: Any = conn.connection.dbapi_connection
    if _AHEAD:
        ahead = _AHEAD.get(id(dbapi))
        if ahead is not None:
            key = (sql, tuple(params))
            answers = ahead.rows.get(key)
            if answers:
                rows = answers.pop(0)
                if not answers:
                    del ahead.rows[key]
                return rows
            ahead.missed += 1
            if ahead.ended:
                raise Mispredicted(sql[:80])
    if conn.dialect.name == "sqlite":
        cursor = dbapi.cursor()
    else:
        sql, cursor = native_sql(sql), RawCursor(dbapi)
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


_MARKS = [", ".join("?" * n) for n in range(65)]


def marks(n: int) -> str:
    """`?, ?, ?` for an IN list of n values (n >= 1)."""
    return _MARKS[n] if n < len(_MARKS) else ", ".join("?" * n)


def json_doc(text: str) -> Any:
    """A JSON document column's value, parsed once per distinct text and shared: callers
    must treat the result as read-only."""
    doc = _DOCS.get(text)
    if doc is None:
        if len(_DOCS) >= _DOCS_MAX:
            _DOCS.clear()
        doc = _DOCS[text] = jsonenc.loads(text)
    return doc
