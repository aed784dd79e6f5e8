"""Hand-written SQL for hot read paths: prebuilt statement text run on the DBAPI cursor of
the connection's transaction (like events.repository.raw_executemany).

Building and compiling a Core `select()` costs ~100 µs per call, and even exec_driver_sql
~40 µs of result set-up; the driver's own cursor runs a small indexed query in ~10 µs on
SQLite. Statements are written with `?` placeholders and turned
into the driver's `%s` on PostgreSQL (cached). Values come back as the driver gives them
(text, int): callers convert decimals (Decimal(text)) and JSON documents (json_doc).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from meterline.kit import jsonenc

_PG: dict[str, str] = {}
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


def fetch(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """All rows (tuples) of a `?`-placeholder statement."""
    sql = driver_sql(conn.dialect.name, sql)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
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
