"""Metering tables: meters (here), events and rollups (added by the metering migration)."""

import sqlalchemy as sa

from meterline.db.tables.base import metadata
from meterline.db.types import JSONDoc, account_column, id_column, seq_column

meters = sa.Table(
    "meters",
    metadata,
    seq_column(),
    id_column(),
    account_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("event_name", sa.Text, nullable=False),
    # The meter as Vayu shows it: name, eventName, aggregationMethod, filter.
    sa.Column("doc", JSONDoc, nullable=False),
    # Bumped on every change of eventName/aggregation/filter: rollups are rebuilt for it.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_meters_account_event_name", "account_id", "event_name"),
)
