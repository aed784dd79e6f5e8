"""Alembic, driven from code: `meterline migrate` and `meterline serve` call upgrade()."""

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

from meterline.db.engine import Database

_HERE = Path(__file__).parent
log = structlog.get_logger(__name__)


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.attributes["database"] = db
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    command.upgrade(alembic_config(db), revision)
    if db.is_sqlite:
        drop_stat4_samples(db)


def drop_stat4_samples(db: Database) -> int:
    """Delete the rows of sqlite_stat4 (kept: sqlite_stat1); returns how many there were.

    An ANALYZE run through a SQLite built with STAT4 (pysqlite3-binary is) stores samples
    that make SQLite re-prepare a statement every time a value is bound to a column they
    cover: the consumption read measured 2x slower with them (docs/operations.md). The
    per-index row counts of sqlite_stat1 give the same plans for our indexed reads."""
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        present = raw.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'").fetchall()
        if not present:
            return 0
        n = int(raw.execute("SELECT COUNT(*) FROM sqlite_stat4").fetchall()[0][0])
        if n:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("DELETE FROM sqlite_stat4")
            raw.execute("COMMIT")
            log.info("sqlite_stat4_dropped", rows=n)
    if n:  # connections load the statistics once, when opened: open new ones
        db.dispose()
    return n
