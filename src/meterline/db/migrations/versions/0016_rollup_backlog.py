"""events stored but not yet folded into rollups

Revision ID: 0016_rollup_backlog
Revises: 0015_ingest_counts

- rollup_backlog: a copy of each newly stored event (account_id, alias, name, ts,
  event_id, ref, data), written in the batch's own transaction and deleted by the folder
  (usage/backlog.py) in the transaction that merges it into the rollups. Reads add the
  backlog to the rollups (usage.service.window_values), so a figure is exact whether or not
  an event has been folded yet. Keyed for reads of one customer's events by name and time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_rollup_backlog"
down_revision = "0015_ingest_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_backlog",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(24), nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("account_id", "alias", "name", "ts", "event_id"),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Rows live for seconds (the folder deletes them, and VACUUMs the table itself):
        # let autovacuum come by after a few thousand dead rows too, not 20 % of the table.
        op.execute(
            "ALTER TABLE rollup_backlog SET (autovacuum_vacuum_scale_factor = 0, "
            "autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0)"
        )


def downgrade() -> None:
    op.drop_table("rollup_backlog")
