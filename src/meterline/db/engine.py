"""Engines for the two backends. Storage differences live here and in repositories only."""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from meterline.kit.errors import BadRequest


@dataclass
class Database:
    engine: Engine
    url: str
    # SQLite: the writers' queue (see writer_turn); a lock file beside the database file.
    lock_path: str | None = None
    _turn: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lock_fd: int | None = field(default=None, repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def writer_turn(self) -> Iterator[None]:
        """SQLite: hot writers (ingestion) of every thread and process on this file queue
        here, in a blocking lock, rather than in SQLite's busy handler, which polls with
        sleeps of up to 100 ms. Threads of a process queue on a mutex, processes on
        flock(2) of the lock file. PostgreSQL: nothing (row and advisory locks)."""
        if not self.is_sqlite:
            yield
            return
        with self._turn:
            if self.lock_path is None:
                yield
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
        # The most recently used connection first: its page cache is the warmest.
        pool_use_lifo=True,
        pool_pre_ping=False,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        # Driver autocommit off: SQLAlchemy emits BEGIN itself (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer 2xx, even across a power loss.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: rollup pages rewritten by every
        # batch are copied back once per checkpoint rather than once per few batches.
        # Durability is unchanged (each commit still fsyncs the WAL: synchronous=FULL).
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front so two writers never deadlock on upgrade.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        # On the driver's connection: a statement through SQLAlchemy costs ~20 µs more.
        conn.connection.dbapi_connection.execute(_BEGIN[mode])  # type: ignore[union-attr]

    return engine


def lock_path_for(url: str) -> str | None:
    """`<file>-writer.lock` beside a file database; None for in-memory ones."""
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path + "-writer.lock"


def _postgres_engine(url: str) -> Engine:
    return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_database(url: str) -> Database:
    if url.startswith("sqlite"):
        return Database(engine=_sqlite_engine(url), url=url, lock_path=lock_path_for(url))
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return Database(engine=_postgres_engine(url), url=url)
    raise BadRequest("METERLINE_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL")


def write_options(db: Database) -> dict[str, Any]:
    return {"sqlite_begin": "IMMEDIATE"} if db.is_sqlite else {}


@contextmanager
def transaction(db: Database, *, write: bool = True) -> Iterator[sa.Connection]:
    """A transaction outside a request (CLI, background jobs): commit on success, else roll back."""
    with db.engine.connect() as conn:
        if write:
            conn = conn.execution_options(**write_options(db))
        with conn.begin():
            yield conn
