"""Migrations and table definitions agree, on both backends."""

import os
import subprocess
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from meterline.db.engine import Database, create_database
from meterline.db.migrate import alembic_config, upgrade
from meterline.db.tables import metadata
from tests.conftest import PG_ADMIN_URL, _pg_schema_url
from tests.support import CLI


def test_migrations_match_tables(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # SQLite reflects the server default text slightly differently; nothing else may differ.
    diff = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_default")]
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    upgrade(db)


def _sqlite_rollup_tables(db: Database) -> dict[str, tuple[str, list[tuple[object, ...]]]]:
    with db.engine.connect() as conn:
        out = {}
        for table in ("meter_rollups", "meter_distinct"):
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar_one()
            rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5, 6")]
            out[table] = (sql, rows)
        return out


def test_0008_clusters_the_rollup_tables_on_sqlite_and_keeps_their_rows(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db, "0006_invoices")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO meter_rollups (account_id, meter_id, alias, level, bucket, instance, n, nv, total, "
                "last_ts, last_ref, last_val) VALUES ('a', 'm', 'x', 0, 3600, '', 2, 2, '0.30', 5, 'r', '0.1')"
            )
            conn.exec_driver_sql(
                "INSERT INTO meter_distinct VALUES "
                "('a', 'm', 'x', 1, 0, '', 'u1', 3), ('a', 'm', 'x', 1, 0, '', 'u2', 1)"
            )
        before = _sqlite_rollup_tables(db)
        assert all("WITHOUT ROWID" not in sql for sql, _ in before.values())
        upgrade(db)
        after = _sqlite_rollup_tables(db)
        for table, (sql, rows) in after.items():
            assert sql.rstrip().endswith("WITHOUT ROWID")
            assert rows == before[table][1]
        command.downgrade(alembic_config(db), "0006_invoices")
        back = _sqlite_rollup_tables(db)
        for table, (sql, rows) in back.items():
            assert "WITHOUT ROWID" not in sql
            assert rows == before[table][1]
    finally:
        db.dispose()


def test_servers_migrating_one_postgres_database_at_once_all_succeed() -> None:
    """`meterline serve` migrates at start: several starting together must queue, not fail."""
    schema = f"m_{os.urandom(6).hex()}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        env = {**os.environ, "METERLINE_DATABASE_URL": _pg_schema_url(schema)}
        procs = [
            subprocess.Popen([CLI, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        assert [code for code, _ in results] == [0, 0, 0], results
        with admin.connect() as conn:
            versions = conn.exec_driver_sql(f"SELECT version_num FROM {schema}.alembic_version").scalars().all()
        db = create_database(_pg_schema_url(schema))
        try:
            heads = set(ScriptDirectory.from_config(alembic_config(db)).get_heads())
        finally:
            db.dispose()
        assert set(versions) == heads
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
