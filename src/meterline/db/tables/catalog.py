"""Catalog products, plans, contracts, credit ledger and balances, measurements."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import DecimalText, JSONDoc, account_column, id_column, seq_column

catalog_products = sa.Table(
    "catalog_products",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("meter_id", sa.String(24), nullable=True),
    # The product as sent: name, description, externalId, meterId.
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
)

plans = sa.Table(
    "plans",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("name", sa.Text, nullable=False),
    # name, status, billingData, products, productGroups as sent.
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
)

contracts = sa.Table(
    "contracts",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("customer_id", sa.String(24), nullable=False),
    # Status as set at creation (Active by default); termination is terminated_at.
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("start_us", sa.BigInteger, nullable=False),
    sa.Column("end_us", sa.BigInteger, nullable=True),
    sa.Column("terminated_at", sa.BigInteger, nullable=True),
    sa.Column("salesforce_opportunity_id", sa.Text, nullable=True),
    # The contract as stored: every request field, lines copied from the plan.
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_contracts_account_customer", "account_id", "customer_id"),
)

credit_balances = sa.Table(
    "credit_balances",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("customer_id", sa.String(24), nullable=False),
    sa.Column("balance", DecimalText, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("account_id", "customer_id"),
)

credit_entries = sa.Table(
    "credit_entries",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("customer_id", sa.String(24), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("amount", DecimalText, nullable=False),
    sa.Column("balance_after", DecimalText, nullable=False),
    sa.Column("invoice_id", sa.String(24), nullable=True),
    sa.Column("contract_id", sa.String(24), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_credit_entries_account_customer", "account_id", "customer_id", "seq"),
)

measurements = sa.Table(
    "measurements",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("customer_id", sa.String(24), nullable=False),
    sa.Column("meter_id", sa.String(24), nullable=False),
    # usageDate at 00:00 UTC, in microseconds.
    sa.Column("day_us", sa.BigInteger, nullable=False),
    sa.Column("value", DecimalText, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index(
        "uq_measurements_account_customer_meter_day", "account_id", "customer_id", "meter_id", "day_us", unique=True
    ),
)
