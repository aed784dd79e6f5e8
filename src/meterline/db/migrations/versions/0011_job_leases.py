"""job leases: one leader per periodic job across every process on a database

Revision ID: 0011_job_leases
Revises: 0008_rollups_without_rowid
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_job_leases"
down_revision = "0008_rollups_without_rowid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("acquired_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
