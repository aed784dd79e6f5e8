"""Accounts, keys, server settings, customers."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import JSONDoc, account_column, id_column, seq_column

server_settings = sa.Table(
    "server_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    seq_column(),
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("prefix", sa.String(40), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
)

customers = sa.Table(
    "customers",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("external_id", sa.Text, nullable=True),
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_customers_account_name", "account_id", "name"),
    sa.Index(
        "uq_customers_account_external_id",
        "account_id",
        "external_id",
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL AND external_id IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND external_id IS NOT NULL"),
    ),
)

# Aliases of live customers: the primary key makes an alias unique within an account.
customer_aliases = sa.Table(
    "customer_aliases",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("customer_id", sa.String(24), nullable=False, index=True),
    sa.PrimaryKeyConstraint("account_id", "alias"),
)

customer_relations = sa.Table(
    "customer_relations",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("parent_customer_id", sa.String(24), nullable=False),
    sa.Column("child_customer_id", sa.String(24), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "parent_customer_id", "child_customer_id", name="uq_customer_relations_pair"),
)

custom_fields = sa.Table(
    "custom_fields",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
)
