"""cloud usage results (POST /cloudUsageSubmission), one row per result

Revision ID: 0013_cloud_usage_results
Revises: 0012_idempotency_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_cloud_usage_results"
down_revision = "0012_idempotency_keys"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cloud_usage_results",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("product_code", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("meter_dimension", sa.Text, nullable=False),
        sa.Column("aws_customer_identifier", sa.Text, nullable=False),
        sa.Column("window_start_us", sa.BigInteger, nullable=False),
        sa.Column("window_end_us", sa.BigInteger, nullable=False),
        sa.Column("submitted_at_us", sa.BigInteger, nullable=False),
        sa.Column("quantity_submitted", sa.Text, nullable=False),
        sa.Column("accepted_quantity", sa.Text, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_cloud_usage_results_key"),
    )


def downgrade() -> None:
    op.drop_table("cloud_usage_results")
