"""Hand-written SQL for hot read paths: prebuilt statement text run with exec_driver_sql.

Building and compiling a Core `select()` costs ~100 µs per call; a constant SQL string
executes in tens of µs on SQLite. Statements are written with `?` placeholders and turned
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


def fetch(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """All rows (tuples) of a `?`-placeholder statement."""
    if conn.dialect.name != "sqlite":
        text = _PG.get(sql)
        if text is None:
            if len(_PG) > 1024:
                _PG.clear()
            text = _PG[sql] = sql.replace("%", "%%").replace("?", "%s")
        sql = text
    return list(conn.exec_driver_sql(sql, tuple(params)).fetchall())


def marks(n: int) -> str:
    """`?, ?, ?` for an IN list of n values (n >= 1)."""
    return ", ".join("?" * n)


def json_doc(text: str) -> Any:
    """A JSON document column's value, parsed once per distinct text and shared: callers
    must treat the result as read-only."""
    doc = _DOCS.get(text)
    if doc is None:
        if len(_DOCS) >= _DOCS_MAX:
            _DOCS.clear()
        doc = _DOCS[text] = jsonenc.loads(text)
    return doc
