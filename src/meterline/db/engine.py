"""Engines for the two backends. Storage differences live here and in repositories only."""

import fcntl
import importlib
import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from meterline.config import Settings
from meterline.db.groupcommit import GroupCommit
from meterline.kit.errors import BadRequest


def _sqlite_module() -> ModuleType:
    """The same DB-API module as the standard library's sqlite3, built with a recent SQLite
    (pysqlite3-binary: 3.51, where Debian 12's Python has 3.40): the usage reads and the
    ingestion inserts measured ~17-20 % faster (docs/operations.md). Its wheels are for
    Linux x86_64; elsewhere the standard module serves, with the same behaviour."""
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:  # pragma: no cover - other platforms
        return sqlite3


sqlite_driver = _sqlite_module()

T = TypeVar("T")


# Database.read_snapshot's kept connections: the key of their number in Connection.info.
READER = "meterline_reader"
_READER_SERIAL = itertools.count(1)


@dataclass
class Database:
    engine: Engine
    url: str
    # SQLite: the writers' queue (see writer_turn); a lock file beside the database file.
    lock_path: str | None = None
    _turn: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lock_fd: int | None = field(default=None, repr=False)
    _group: GroupCommit | None = field(default=None, repr=False)
    # SQLite: one connection per thread kept for small reads (see read_snapshot), by thread id.
    _readers: dict[int, sa.Connection] = field(default_factory=dict, repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def dispose(self) -> None:
        for conn in list(self._readers.values()):
            conn.info.pop(READER, None)
            conn.close()
        self._readers.clear()
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def read_snapshot(self) -> Iterator[sa.Connection]:
        """SQLite: a read transaction on this thread's kept connection, begun and ended on
        the driver (`BEGIN` … `ROLLBACK`: nothing is written). Saves the pool checkout and
        SQLAlchemy's transaction bookkeeping (~80 µs of a ~1 ms consumption read). The
        work should read through the driver's cursor (db.raw.fetch); a Core statement
        begins SQLAlchemy's own transaction, which is ended here as well. A connection
        whose driver raised is closed and replaced by the next call."""
        me = threading.get_ident()
        conn = self._readers.get(me)
        if conn is None:
            alive = {t.ident for t in threading.enumerate()}
            for ident in [i for i in self._readers if i not in alive]:
                self._drop_reader(ident)  # its thread has ended: back to the pool
            conn = self._readers[me] = self.engine.connect()
            # A number for this connection's life as a kept reader (it never writes then):
            # what its `PRAGMA data_version` counts is relative to it (consumption/cache.py).
            conn.info[READER] = next(_READER_SERIAL)
        raw: Any = conn.connection.dbapi_connection
        raw.execute("BEGIN DEFERRED")
        try:
            yield conn
        except (sa.exc.DBAPIError, sqlite_driver.Error):
            self._drop_reader(me)
            raise
        finally:
            if self._readers.get(me) is conn:
                if conn.in_transaction():
                    conn.rollback()  # a Core statement began SQLAlchemy's transaction: ends ours too
                elif raw.in_transaction:
                    raw.execute("ROLLBACK")

    def _drop_reader(self, ident: int) -> None:
        conn = self._readers.pop(ident, None)
        if conn is not None:
            conn.info.pop(READER, None)  # back in the pool, it may write
            conn.close()  # rolls back; the thread's next read_snapshot connects anew

    def write_grouped(self, work: Callable[[sa.Connection], T]) -> T:
        """Hot writes (ingestion): work(conn) in a write transaction. SQLite: in the
        writers' turn, in a group commit with the other writes of this process that wait
        for the turn meanwhile (db.groupcommit). PostgreSQL: a transaction of its own."""
        if not self.is_sqlite:
            with transaction(self) as conn:
                return work(conn)
        if self._group is None:
            self._group = GroupCommit(self._turn_and_transaction)
        return self._group.run(work)

    @contextmanager
    def _turn_and_transaction(self) -> Iterator[sa.Connection]:
        with self.writer_turn(), transaction(self) as conn:
            yield conn

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
        module=sqlite_driver,
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
        # Temporary b-trees (UNION, GROUP BY of the usage reads) in memory: with a temp file
        # the same reads measured up to 3x slower once the connection had run them a while.
        cur.execute("PRAGMA temp_store=MEMORY")
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
        # Already in one: begun by Database.read_snapshot on the driver.
        raw: Any = conn.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute(_BEGIN[mode])

    return engine


def lock_path_for(url: str) -> str | None:
    """`<file>-writer.lock` beside a file database; None for in-memory ones."""
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path + "-writer.lock"


def _postgres_engine(url: str, pool_size: int, max_overflow: int, pgbouncer: bool) -> Engine:
    # Behind PgBouncer in transaction pooling mode, consecutive transactions of one of our
    # connections may run on different server connections: psycopg must not prepare
    # statements on the server (it does after 5 executions of a text by default), which
    # would be missing on the next one. Nothing else here keeps session state (advisory
    # locks are transaction-scoped, no SET, LISTEN or temporary table). docs/operations.md.
    connect_args: dict[str, Any] = {"prepare_threshold": None} if pgbouncer else {}
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, connect_args=connect_args
    )


def create_database(url: str, *, pool_size: int = 10, max_overflow: int = 10, pgbouncer: bool = False) -> Database:
    """The database of this URL. PostgreSQL: a pool of `pool_size` connections per process,
    plus up to `max_overflow` more under load; `pgbouncer`: no server-side prepared
    statements (PgBouncer in transaction pooling mode). SQLite keeps its own pool."""
    if url.startswith("sqlite"):
        return Database(engine=_sqlite_engine(url), url=url, lock_path=lock_path_for(url))
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return Database(engine=_postgres_engine(url, pool_size, max_overflow, pgbouncer), url=url)
    raise BadRequest("METERLINE_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL")


def open_database(settings: Settings) -> Database:
    """create_database with the connection settings of `settings` (METERLINE_DB_*)."""
    return create_database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pgbouncer=settings.db_pgbouncer,
    )


def write_options(db: Database) -> dict[str, Any]:
    return {"sqlite_begin": "IMMEDIATE"} if db.is_sqlite else {}


@contextmanager
def transaction(db: Database, *, write: bool = True) -> Iterator[sa.Connection]:
    """A transaction outside a request (CLI, background jobs): commit on success, else roll back.

    A read (write=False) on PostgreSQL runs in REPEATABLE READ: one snapshot for all its
    statements, as SQLite's read transactions have (a usage read checks an edge bucket's
    span, then reads the bucket: both must see the same state)."""
    with db.engine.connect() as conn:
        if write:
            conn = conn.execution_options(**write_options(db))
        elif not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


@contextmanager
def small_read(db: Database) -> Iterator[sa.Connection]:
    """A read of a few indexed rows (one customer's consumption): on SQLite the thread's kept
    connection (Database.read_snapshot), else a REPEATABLE READ transaction (transaction)."""
    if db.is_sqlite:
        with db.read_snapshot() as conn:
            yield conn
    else:
        with transaction(db, write=False) as conn:
            yield conn


@contextmanager
def quick_check(db: Database) -> Iterator[sa.Connection]:
    """A connection for a one-statement check (consumption/cache.py). PostgreSQL: autocommit,
    the statement alone in a snapshot of its own, with no BEGIN or COMMIT round trip.
    SQLite: the thread's kept read connection (Database.read_snapshot), whose
    `PRAGMA data_version` counts the commits of every other connection."""
    if db.is_sqlite:
        with db.read_snapshot() as conn:
            yield conn
    else:
        with db.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
