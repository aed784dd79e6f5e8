"""Database.read_snapshot (SQLite small reads on a kept connection): one snapshot for the
whole read, nothing left open after it, errors and ended threads handled."""

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from meterline.db.engine import Database, create_database, transaction
from meterline.db.migrate import upgrade
from meterline.db.raw import fetch


@pytest.fixture
def sdb(tmp_path: Path) -> Database:
    db = create_database(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(db)
    with transaction(db) as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    return db


def _count(conn: sa.Connection) -> int:
    return int(fetch(conn, "SELECT COUNT(*) FROM t", ())[0][0])


def _insert(db: Database) -> None:
    with transaction(db) as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")


def test_one_snapshot_for_the_whole_read(sdb: Database) -> None:
    with sdb.read_snapshot() as conn:
        assert _count(conn) == 1
        writer = threading.Thread(target=_insert, args=(sdb,))
        writer.start()
        writer.join()  # committed meanwhile (WAL: a writer does not wait for readers)
        assert _count(conn) == 1
    with sdb.read_snapshot() as conn:
        assert _count(conn) == 2
        assert conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    assert not conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    sdb.dispose()


def test_kept_connection_survives_an_application_error(sdb: Database) -> None:
    with pytest.raises(LookupError), sdb.read_snapshot() as conn:
        assert _count(conn) == 1
        raise LookupError("not found")
    with sdb.read_snapshot() as again:
        assert again is conn
        assert _count(again) == 1
    sdb.dispose()


def test_driver_error_replaces_the_connection(sdb: Database) -> None:
    with pytest.raises(sa.exc.OperationalError), sdb.read_snapshot() as conn:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    with sdb.read_snapshot() as again:
        assert again is not conn
        assert _count(again) == 1
    sdb.dispose()


def test_core_statement_inside_is_ended_too(sdb: Database) -> None:
    with sdb.read_snapshot() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM t")).scalar_one() == 1
    assert not conn.in_transaction()
    assert not conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    _insert(sdb)  # the write lock is free: no read transaction was left open
    with sdb.read_snapshot() as conn:
        assert _count(conn) == 2
    sdb.dispose()


def test_an_ended_threads_connection_goes_back_to_the_pool(sdb: Database) -> None:
    def read() -> None:
        with sdb.read_snapshot() as conn:
            _count(conn)

    for _ in range(3):
        t = threading.Thread(target=read)
        t.start()
        t.join()
    with sdb.read_snapshot() as conn:
        _count(conn)
    assert len(sdb._readers) == 1  # only this thread's: the ended threads' were returned
    sdb.dispose()
    assert not sdb._readers
