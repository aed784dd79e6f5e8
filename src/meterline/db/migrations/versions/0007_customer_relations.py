"""customer relations (parent/child customers) and custom field definitions

Revision ID: 0007_customer_relations
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_customer_relations"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_relations",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("parent_customer_id", sa.String(24), nullable=False),
        sa.Column("child_customer_id", sa.String(24), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "account_id",
            "parent_customer_id",
            "child_customer_id",
            name="uq_customer_relations_pair",
        ),
    )
    op.create_table(
        "custom_fields",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("custom_fields")
    op.drop_table("customer_relations")
