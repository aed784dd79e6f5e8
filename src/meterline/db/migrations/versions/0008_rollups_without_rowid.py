"""SQLite: meter_rollups and meter_distinct become WITHOUT ROWID tables

Revision ID: 0008_rollups_without_rowid
Revises: 0006_invoices

Their reads are range scans of the primary key; with a rowid every row found in the key's
index was then fetched from the table by rowid (meter_rollups), and every upsert wrote two
b-trees. Clustered on the key, one b-tree serves both (docs/operations.md has the figures).
PostgreSQL keeps its tables as they are. The rebuild copies the rows: on a large database
`meterline migrate` takes about as long as copying the two tables.
"""

import re

from alembic import op

revision = "0008_rollups_without_rowid"
down_revision = "0006_invoices"
branch_labels = None
depends_on = None

_TABLES = ("meter_rollups", "meter_distinct")


def _rebuild(table: str, *, without_rowid: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    (sql,) = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).one()
    body = sql.rstrip().removesuffix("WITHOUT ROWID").rstrip()
    if (body != sql.rstrip()) == without_rowid:
        return  # already in the wanted form
    new = f"{table}_rebuilt"
    # After an ALTER TABLE … RENAME, SQLite keeps the name quoted in the stored text.
    create = re.sub(rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE {new}", body, count=1)
    assert create != body, sql
    conn.exec_driver_sql(create + (" WITHOUT ROWID" if without_rowid else ""))
    conn.exec_driver_sql(f"INSERT INTO {new} SELECT * FROM {table}")
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table}")


def upgrade() -> None:
    for table in _TABLES:
        _rebuild(table, without_rowid=True)


def downgrade() -> None:
    for table in _TABLES:
        _rebuild(table, without_rowid=False)
