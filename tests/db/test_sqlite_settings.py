"""The settings every SQLite connection gets (db/engine.py), read back from SQLite itself:
they are what the durability and latency claims of docs/operations.md rest on."""

import platform
import sys
from pathlib import Path

import pytest

from meterline.db.engine import create_database, sqlite_driver
from meterline.db.raw import fetch


def test_every_connection_is_durable_wal_with_memory_temp_store(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with db.engine.connect() as conn, db.read_snapshot() as kept:
            for c in (conn, kept):
                assert fetch(c, "PRAGMA journal_mode", ())[0][0] == "wal"
                assert fetch(c, "PRAGMA synchronous", ())[0][0] == 2  # FULL
                assert fetch(c, "PRAGMA temp_store", ())[0][0] == 2  # MEMORY
                assert fetch(c, "PRAGMA busy_timeout", ())[0][0] == 30000
    finally:
        db.dispose()


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"), reason="pysqlite3-binary wheels: Linux x86_64"
)
def test_the_recent_sqlite_is_the_one_in_use(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        assert sqlite_driver.__name__ == "pysqlite3.dbapi2"
        with db.engine.connect() as conn:
            version = fetch(conn, "SELECT sqlite_version()", ())[0][0]
        assert tuple(int(x) for x in version.split(".")) >= (3, 51)
    finally:
        db.dispose()
