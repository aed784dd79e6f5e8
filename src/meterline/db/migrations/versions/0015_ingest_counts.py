"""ingestion counts per account and UTC day of receipt

Revision ID: 0015_ingest_counts
Revises: 0014_payments_and_notifications

- ingest_counts: (account_id, day, shard) -> accepted, invalid, duplicate: the sums of
  what POST /events answered, written in the batch's own transaction; read by
  GET /ingestion-counts and the dashboard's overview.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_ingest_counts"
down_revision = "0014_payments_and_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_counts",
        sa.Column("account_id", sa.String(24), primary_key=True),
        sa.Column("day", sa.BigInteger, primary_key=True),
        sa.Column("shard", sa.SmallInteger, primary_key=True),
        sa.Column("accepted", sa.BigInteger, nullable=False),
        sa.Column("invalid", sa.BigInteger, nullable=False),
        sa.Column("duplicate", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_counts")
