"""Invoices: one row per contract billing cycle (a draft while the cycle is open)."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import DecimalText, JSONDoc, account_column, id_column, seq_column

_OVERDUE_PENDING = "issued_at IS NOT NULL AND paid_at IS NULL AND overdue_noted_at IS NULL"

invoices = sa.Table(
    "invoices",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("customer_id", sa.String(24), nullable=False),
    sa.Column("contract_id", sa.String(24), nullable=False),
    sa.Column("cycle_index", sa.Integer, nullable=False),
    sa.Column("cycle_start", sa.BigInteger, nullable=False),
    sa.Column("cycle_end", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    # NULL while the invoice is a draft; the cycle end once issued (then frozen).
    sa.Column("issued_at", sa.BigInteger, nullable=True),
    sa.Column("due_date", sa.BigInteger, nullable=True),
    sa.Column("paid_at", sa.BigInteger, nullable=True),
    # When its turn to Overdue was announced (0014): the overdue scan reads each invoice once.
    sa.Column("overdue_noted_at", sa.BigInteger, nullable=True),
    sa.Column("total", DecimalText, nullable=True),
    # The frozen figures of an issued invoice (totals and line items).
    sa.Column("figures", JSONDoc, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "contract_id", "cycle_start", name="uq_invoices_contract_cycle"),
    sa.Index("ix_invoices_account_customer", "account_id", "customer_id", "seq"),
    sa.Index("ix_invoices_account_issued", "account_id", "issued_at"),
    sa.Index(
        "ix_invoices_overdue_pending",
        "due_date",
        sqlite_where=sa.text(_OVERDUE_PENDING),
        postgresql_where=sa.text(_OVERDUE_PENDING),
    ),
)

# Payments recorded against issued invoices (0014); the reference is unique per invoice.
invoice_payments = sa.Table(
    "invoice_payments",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("invoice_id", sa.String(24), nullable=False),
    sa.Column("amount", DecimalText, nullable=False),
    sa.Column("paid_at", sa.BigInteger, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "invoice_id", "reference", name="uq_invoice_payments_reference"),
)
