"""Idempotency keys: the first successful answer to a keyed POST, per account, for 24 h."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("account_id", sa.String(24), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    # sha256 hex of method, path and canonical body: the same key with another request is refused
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),  # null only inside the claiming transaction
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # µs; purged 24 h later
    sa.Index("ix_idempotency_keys_account_created", "account_id", "created_at"),
)
