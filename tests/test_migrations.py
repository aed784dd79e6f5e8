"""Migrations and table definitions agree, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from meterline.db.engine import Database
from meterline.db.migrate import upgrade
from meterline.db.tables import metadata


def test_migrations_match_tables(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # SQLite reflects the server default text slightly differently; nothing else may differ.
    diff = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_default")]
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    upgrade(db)
