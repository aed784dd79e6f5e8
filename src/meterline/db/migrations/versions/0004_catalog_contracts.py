"""catalog products, plans, contracts, credits, measurements

Revision ID: 0004_catalog_contracts
Revises: 0002_meters
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_catalog_contracts"
down_revision = "0002_meters"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _head() -> list[sa.Column[object]]:
    return [
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
    ]


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "catalog_products",
        *_head(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("meter_id", sa.String(24), nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "plans",
        *_head(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "contracts",
        *_head(),
        sa.Column("customer_id", sa.String(24), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("start_us", sa.BigInteger, nullable=False),
        sa.Column("end_us", sa.BigInteger, nullable=True),
        sa.Column("terminated_at", sa.BigInteger, nullable=True),
        sa.Column("salesforce_opportunity_id", sa.Text, nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_index("ix_contracts_account_customer", "contracts", ["account_id", "customer_id"])
    op.create_table(
        "credit_balances",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("customer_id", sa.String(24), nullable=False),
        sa.Column("balance", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "customer_id", name="pk_credit_balances"),
    )
    op.create_table(
        "credit_entries",
        *_head(),
        sa.Column("customer_id", sa.String(24), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("balance_after", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.String(24), nullable=True),
        sa.Column("contract_id", sa.String(24), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_credit_entries_account_customer", "credit_entries", ["account_id", "customer_id", "seq"])
    op.create_table(
        "measurements",
        *_head(),
        sa.Column("customer_id", sa.String(24), nullable=False),
        sa.Column("meter_id", sa.String(24), nullable=False),
        sa.Column("day_us", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "uq_measurements_account_customer_meter_day",
        "measurements",
        ["account_id", "customer_id", "meter_id", "day_us"],
        unique=True,
    )


def downgrade() -> None:
    for name in ("measurements", "credit_entries", "credit_balances", "contracts", "plans", "catalog_products"):
        op.drop_table(name)
