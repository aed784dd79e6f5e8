"""Webhook tables: subscriptions, per-account signing keys, the notification outbox, deliveries.

Keep identical to migration 0005_webhooks.
"""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import DecimalText, account_column, id_column, seq_column

_LIVE = "deleted_at IS NULL"
_PENDING = "status = 'pending'"

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("callback_url", sa.Text, nullable=False),
    sa.Column("threshold", DecimalText, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_webhook_subscriptions_account_event", "account_id", "event_type"),
    # One live subscription per (account, event type, URL): subscribing again updates it.
    sa.Index(
        "uq_webhook_subscriptions_live",
        "account_id",
        "event_type",
        "callback_url",
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    ),
)

# One RSA key pair per account (PEM). The private key never leaves the server.
webhook_keys = sa.Table(
    "webhook_keys",
    metadata,
    sa.Column("account_id", sa.String(24), primary_key=True),
    sa.Column("public_pem", sa.Text, nullable=False),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# The outbox: one row per notification (its exact body), fanned out into deliveries.
# scope is "" for a notification to every matching subscription, or one subscription id.
webhook_notifications = sa.Table(
    "webhook_notifications",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(24), nullable=False, server_default=""),
    sa.Column("dedupe_key", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("uq_webhook_notifications_dedupe", "account_id", "event_type", "scope", "dedupe_key", unique=True),
)

# One row per (notification, subscription): the delivery state machine.
# status: pending -> delivered | failed | cancelled. A claim sets lease_token/lease_expires_at.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
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
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    ),
)

# A periodic notification computed for an account and a period (0014): UnchargedEvents per
# UTC day ("2026-11-03"), MonthEndReport per month ("2026-11"); each is computed once.
notification_runs = sa.Table(
    "notification_runs",
    metadata,
    sa.Column("account_id", sa.String(24), primary_key=True),
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
