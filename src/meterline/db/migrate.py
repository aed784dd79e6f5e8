"""Alembic, driven from code: `meterline migrate` and `meterline serve` call upgrade()."""

from functools import cache
from pathlib import Path

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from meterline.db.engine import Database

_HERE = Path(__file__).parent
log = structlog.get_logger(__name__)


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.attributes["database"] = db
    return cfg


def _script() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    return ScriptDirectory.from_config(cfg)


@cache
def head_revisions() -> frozenset[str]:
    """The revisions the code's migrations end at (no database access)."""
    return frozenset(_script().get_heads())


def _versions(conn: sa.Connection) -> set[str]:
    # Read directly: alembic's MigrationContext logs two INFO lines per call (readiness probes).
    if not sa.inspect(conn).has_table("alembic_version"):
        return set()
    return {str(r[0]) for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}


def current_revisions(db: Database) -> set[str]:
    """The revisions the database is at (empty: never migrated)."""
    with db.engine.connect() as conn:
        return _versions(conn)


def pending_revisions(db: Database) -> list[str]:
    """Revisions `upgrade` would apply, oldest first."""
    script = _script()
    current = current_revisions(db)
    done: set[str] = set()
    for rev in current:
        done |= {r.revision for r in script.iterate_revisions(rev, "base")}
    return [r.revision for r in reversed(list(script.walk_revisions())) if r.revision not in done]


def is_migrated(conn: sa.Connection) -> bool:
    """True when the schema has been created (`meterline migrate` ran at least once)."""
    return bool(_versions(conn))


def upgrade(db: Database, revision: str = "heads") -> list[str]:
    """Apply the pending migrations; returns the revisions applied, oldest first."""
    applied = pending_revisions(db) if revision == "heads" else []
    command.upgrade(alembic_config(db), revision)
    if db.is_sqlite:
        drop_stat4_samples(db)
    return applied


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
