"""meters

Revision ID: 0002_meters
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_meters"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("event_name", sa.Text, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_meters_account_event_name", "meters", ["account_id", "event_name"])


def downgrade() -> None:
    op.drop_table("meters")
