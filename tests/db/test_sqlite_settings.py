"""The settings every SQLite connection gets (db/engine.py), read back from SQLite itself:
they are what the durability and latency claims of docs/operations.md rest on."""

import platform
import sys
from pathlib import Path

import pytest

from meterline.db.engine import create_database, sqlite_driver
from meterline.db.migrate import drop_stat4_samples, upgrade
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


def test_upgrade_drops_stat4_samples_and_keeps_stat1(tmp_path: Path) -> None:
    """An ANALYZE through a STAT4 build leaves samples that make every bound statement
    re-prepare; `meterline migrate` / `serve` (upgrade) delete them."""
    db = create_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        upgrade(db)
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("CREATE TABLE probe (k TEXT, v INTEGER)")
            raw.execute("CREATE INDEX probe_k ON probe (k, v)")
            raw.executemany("INSERT INTO probe VALUES (?, ?)", [(f"k{i % 7}", i) for i in range(500)])
            raw.execute("ANALYZE")
            stat4 = fetch(conn, "SELECT name FROM sqlite_schema WHERE name = 'sqlite_stat4'", ())
            samples = fetch(conn, "SELECT COUNT(*) FROM sqlite_stat4", ())[0][0] if stat4 else 0
        compiled = [r[0] for r in sqlite_driver.connect(":memory:").execute("PRAGMA compile_options")]
        assert samples > 0 if "ENABLE_STAT4" in compiled else samples == 0
        upgrade(db)
        with db.engine.connect() as conn:
            if stat4:
                assert fetch(conn, "SELECT COUNT(*) FROM sqlite_stat4", ())[0][0] == 0
            assert fetch(conn, "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'probe'", ())[0][0] > 0
            assert fetch(conn, "SELECT COUNT(*) FROM probe WHERE k = ?", ("k3",))[0][0] == 71
        assert drop_stat4_samples(db) == 0
    finally:
        db.dispose()
