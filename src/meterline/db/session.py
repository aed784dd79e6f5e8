"""The session dependency: one transaction per request; it owns commit and rollback.

Declared with scope="function" so the commit happens before the response is sent:
a 2xx means committed. Services and repositories never commit.
"""

from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from meterline.db.engine import Database, write_options

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _conn(request: Request) -> Iterator[sa.Connection]:
    db: Database = request.app.state.db
    with db.engine.connect() as conn:
        if request.method not in _READ_METHODS:
            conn = conn.execution_options(**write_options(db))
        with conn.begin():
            yield conn


Conn = Annotated[sa.Connection, Depends(_conn, scope="function")]
