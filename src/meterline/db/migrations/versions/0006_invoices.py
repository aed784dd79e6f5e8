"""invoices

Revision ID: 0006_invoices
Revises: 0003_events, 0004_catalog_contracts, 0005_webhooks, 0007_customer_relations
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_invoices"
down_revision = ("0003_events", "0004_catalog_contracts", "0005_webhooks", "0007_customer_relations")
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("customer_id", sa.String(24), nullable=False),
        sa.Column("contract_id", sa.String(24), nullable=False),
        sa.Column("cycle_index", sa.Integer, nullable=False),
        sa.Column("cycle_start", sa.BigInteger, nullable=False),
        sa.Column("cycle_end", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=True),
        sa.Column("due_date", sa.BigInteger, nullable=True),
        sa.Column("paid_at", sa.BigInteger, nullable=True),
        sa.Column("total", sa.Text, nullable=True),
        sa.Column("figures", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "contract_id", "cycle_start", name="uq_invoices_contract_cycle"),
    )
    op.create_index("ix_invoices_account_customer", "invoices", ["account_id", "customer_id", "seq"])
    op.create_index("ix_invoices_account_issued", "invoices", ["account_id", "issued_at"])


def downgrade() -> None:
    op.drop_table("invoices")
