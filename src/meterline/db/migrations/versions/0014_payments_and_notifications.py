"""invoice payments; invoices remember the Overdue notice; notification runs per period

Revision ID: 0014_payments_and_notifications
Revises: 0013_cloud_usage_results

- invoice_payments: one row per payment recorded against an issued invoice; the
  reference is unique per invoice (recording it again answers the same payment).
- invoices.overdue_noted_at: when the invoice's turn to Overdue was announced
  (InvoicePaymentStatusChanged), so the periodic scan reads each such invoice once.
- notification_runs: a periodic notification computed for an account and a period
  (UnchargedEvents per UTC day, MonthEndReport per month), so it is computed once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_payments_and_notifications"
down_revision = "0013_cloud_usage_results"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OVERDUE_PENDING = "issued_at IS NOT NULL AND paid_at IS NULL AND overdue_noted_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "invoice_payments",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("invoice_id", sa.String(24), nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("paid_at", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "invoice_id", "reference", name="uq_invoice_payments_reference"),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("overdue_noted_at", sa.BigInteger, nullable=True))
    op.create_index(
        "ix_invoices_overdue_pending",
        "invoices",
        ["due_date"],
        sqlite_where=sa.text(_OVERDUE_PENDING),
        postgresql_where=sa.text(_OVERDUE_PENDING),
    )
    op.create_table(
        "notification_runs",
        sa.Column("account_id", sa.String(24), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_runs")
    op.drop_index("ix_invoices_overdue_pending", table_name="invoices")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("overdue_noted_at")
    op.drop_table("invoice_payments")
