"""Cloud marketplace usage results submitted through POST /cloudUsageSubmission (stored only)."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import DecimalText, JSONDoc, account_column, id_column, seq_column

cloud_usage_results = sa.Table(
    "cloud_usage_results",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("product_code", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("meter_dimension", sa.Text, nullable=False),
    sa.Column("aws_customer_identifier", sa.Text, nullable=False),
    sa.Column("window_start_us", sa.BigInteger, nullable=False),
    sa.Column("window_end_us", sa.BigInteger, nullable=False),
    sa.Column("submitted_at_us", sa.BigInteger, nullable=False),
    sa.Column("quantity_submitted", DecimalText, nullable=False),
    sa.Column("accepted_quantity", DecimalText, nullable=False),
    # The result as submitted (decimals exact, instants in canonical form).
    sa.Column("doc", JSONDoc, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "idempotency_key", name="uq_cloud_usage_results_key"),
)
