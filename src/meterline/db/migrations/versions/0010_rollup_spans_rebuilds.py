"""rollup spans (read edge buckets whole) and background meter rebuilds

Revision ID: 0010_rollup_spans_rebuilds
Revises: 0008_rollups_without_rowid

- meter_rollups.min_ts / max_ts: the earliest and latest event timestamp of a bucket. Rows
  written before stay NULL ("unknown"): a read then reads that edge hour's raw events, as
  before (`meterline meters backfill --all` rebuilds them). ADD COLUMN only: instant.
- meters.rollup_id: the rollups serving the meter's current definition (NULL while its
  first rebuild runs); meters.build_id: the rollups a running rebuild fills. Existing
  meters keep their rollups (rollup_id = id).
- meter_rebuilds: one row per rebuild job (state, cursor, lease); meter_rollup_drops:
  rollup ids whose rows are deleted in the background (chunked).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_rollup_spans_rebuilds"
down_revision = "0008_rollups_without_rowid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (a batch would copy meter_rollups on SQLite).
    op.add_column("meter_rollups", sa.Column("min_ts", sa.BigInteger, nullable=True))
    op.add_column("meter_rollups", sa.Column("max_ts", sa.BigInteger, nullable=True))
    op.add_column("meters", sa.Column("rollup_id", sa.String(24), nullable=True))
    op.add_column("meters", sa.Column("build_id", sa.String(24), nullable=True))
    op.execute("UPDATE meters SET rollup_id = id")
    op.create_table(
        "meter_rebuilds",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("meter_id", sa.String(24), nullable=False),
        sa.Column("rollup_id", sa.String(24), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("high_water_seq", sa.BigInteger, nullable=True),
        sa.Column("cursor_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("events_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("events_total", sa.BigInteger, nullable=True),
        sa.Column("lease_token", sa.Text, nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        sa.Index("ix_meter_rebuilds_account_meter", "account_id", "meter_id"),
        sa.Index("ix_meter_rebuilds_status", "status"),
    )
    op.create_table(
        "meter_rollup_drops",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("rollup_id", sa.String(24), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "rollup_id"),
    )


def downgrade() -> None:
    op.drop_table("meter_rollup_drops")
    op.drop_table("meter_rebuilds")
    # DROP COLUMN (SQLite >= 3.35) keeps meter_rollups WITHOUT ROWID, where a batch copy
    # would not.
    drops = [("meters", "build_id"), ("meters", "rollup_id"), ("meter_rollups", "max_ts"), ("meter_rollups", "min_ts")]
    for table, column in drops:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
