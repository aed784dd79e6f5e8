"""webhooks: subscriptions, signing keys, notification outbox, deliveries

Revision ID: 0005_webhooks
Revises: 0002_meters
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_webhooks"
down_revision = "0002_meters"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LIVE = "deleted_at IS NULL"
_PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("callback_url", sa.Text, nullable=False),
        sa.Column("threshold", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_webhook_subscriptions_account_event", "webhook_subscriptions", ["account_id", "event_type"])
    op.create_index(
        "uq_webhook_subscriptions_live",
        "webhook_subscriptions",
        ["account_id", "event_type", "callback_url"],
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )
    op.create_table(
        "webhook_keys",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_webhook_keys"),
    )
    op.create_table(
        "webhook_notifications",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(24), nullable=False, server_default=""),
        sa.Column("dedupe_key", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "uq_webhook_notifications_dedupe",
        "webhook_notifications",
        ["account_id", "event_type", "scope", "dedupe_key"],
        unique=True,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("account_id", sa.String(24), nullable=False, index=True),
        sa.Column("notification_id", sa.String(24), nullable=False, index=True),
        sa.Column("subscription_id", sa.String(24), nullable=False, index=True),
        sa.Column("callback_url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    for name in ("webhook_deliveries", "webhook_notifications", "webhook_keys", "webhook_subscriptions"):
        op.drop_table(name)
