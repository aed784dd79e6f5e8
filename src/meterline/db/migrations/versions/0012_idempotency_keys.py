"""idempotency keys: the first successful answer to a keyed POST, per account, for 24 h

Revision ID: 0012_idempotency_keys
Revises: 0011_job_leases
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_idempotency_keys"
down_revision = "0011_job_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.String(24), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idempotency_keys_account_created", "idempotency_keys", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_account_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
