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
    # The rollups (meter_rollups.meter_id) serving the current definition, NULL while its
    # first rebuild runs (reads then compute from the stored events); the rollups a running
    # rebuild fills (ingestion merges into both). Migration 0010.
    sa.Column("rollup_id", sa.String(24), nullable=True),
    sa.Column("build_id", sa.String(24), nullable=True),
    sa.Index("ix_meters_account_event_name", "account_id", "event_name"),
)

# Stored events. `ref` is unique per account (idempotency); `ts` is integer microseconds
# UTC; `data` is the event's JSON object as exact text (decimals never through float).
events = sa.Table(
    "events",
    metadata,
    seq_column(),
    sa.Column("id", sa.String(24), nullable=False),
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("customer_alias", sa.Text, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("data", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("uq_events_account_ref", "account_id", "ref", unique=True),
    sa.Index("ix_events_account_name_alias_ts", "account_id", "name", "customer_alias", "ts"),
    sa.Index("ix_events_account_ts", "account_id", "ts"),
)

# Ingestion counts per account and UTC day of receipt (migration 0015): what POST /events
# answered, summed. `shard` spreads one account's concurrent batches over several rows on
# PostgreSQL (a single row would serialise their commits); readers sum the shards.
ingest_counts = sa.Table(
    "ingest_counts",
    metadata,
    sa.Column("account_id", sa.String(24), primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True),  # µs of the UTC day's start
    sa.Column("shard", sa.SmallInteger, primary_key=True),
    sa.Column("accepted", sa.BigInteger, nullable=False),
    sa.Column("invalid", sa.BigInteger, nullable=False),
    sa.Column("duplicate", sa.BigInteger, nullable=False),
)

# Events stored but not yet folded into the rollups (migration 0016): a copy of each new
# event, written with it and deleted by the folder (usage/backlog.py) in the transaction
# that merges it into meter_rollups / meter_distinct. Reads add it to the rollups.
rollup_backlog = sa.Table(
    "rollup_backlog",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(24), nullable=False),
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=True),
    sa.PrimaryKeyConstraint("account_id", "alias", "name", "ts", "event_id"),
    sqlite_with_rowid=False,
)

# One row per alias whose folded usage ever changed: `gen` rises in every transaction that
# folds its backlog or recomputes its buckets (migration 0017; read by consumption/cache.py).
usage_generations = sa.Table(
    "usage_generations",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("gen", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("account_id", "alias"),
    sqlite_with_rowid=False,
)

# Pre-aggregated state of one meter per (alias, level, bucket, instance). level 0 = hour
# buckets, level 1 = day buckets (both aligned on the Unix epoch, UTC); `instance` is the
# canonical JSON text of data[instanceKey] ("" when the event has none). Decimals as text.
meter_rollups = sa.Table(
    "meter_rollups",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("meter_id", sa.String(24), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("bucket", sa.BigInteger, nullable=False),
    sa.Column("instance", sa.Text, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("nv", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("vmin", sa.Text, nullable=True),
    sa.Column("vmax", sa.Text, nullable=True),
    sa.Column("first_ts", sa.BigInteger, nullable=True),
    sa.Column("first_ref", sa.Text, nullable=True),
    sa.Column("first_val", sa.Text, nullable=True),
    sa.Column("last_ts", sa.BigInteger, nullable=True),
    sa.Column("last_ref", sa.Text, nullable=True),
    sa.Column("last_val", sa.Text, nullable=True),
    # The earliest and latest timestamp of the bucket's events (NULL: written before
    # migration 0010, unknown). A read takes an edge bucket whole when they lie in its window.
    sa.Column("min_ts", sa.BigInteger, nullable=True),
    sa.Column("max_ts", sa.BigInteger, nullable=True),
    sa.PrimaryKeyConstraint("account_id", "meter_id", "alias", "level", "bucket", "instance"),
    sqlite_with_rowid=False,  # clustered on the key (migration 0008)
)

# Distinct meters: every distinct value per bucket, with how many events carry it.
meter_distinct = sa.Table(
    "meter_distinct",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("meter_id", sa.String(24), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("bucket", sa.BigInteger, nullable=False),
    sa.Column("instance", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("account_id", "meter_id", "alias", "level", "bucket", "instance", "value"),
    sqlite_with_rowid=False,  # clustered on the key (migration 0008)
)

# Background meter rebuilds (meters/rebuild.py): one row per job. `rollup_id` is the id the
# job fills; `high_water_seq` (fixed when the job starts, under the account's lock) bounds
# the events it folds, `cursor_seq` is how far it got (resumed from after a crash).
meter_rebuilds = sa.Table(
    "meter_rebuilds",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("meter_id", sa.String(24), nullable=False),
    sa.Column("rollup_id", sa.String(24), nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | running | done | cancelled
    sa.Column("high_water_seq", sa.BigInteger, nullable=True),
    sa.Column("cursor_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("events_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("events_total", sa.BigInteger, nullable=True),
    sa.Column("lease_token", sa.Text, nullable=True),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger, nullable=True),
    sa.Index("ix_meter_rebuilds_account_meter", "account_id", "meter_id"),
    sa.Index("ix_meter_rebuilds_status", "status"),
)

# Rollup ids no meter reads any more (replaced, abandoned or deleted meters): their rows
# are deleted in the background, in chunks.
meter_rollup_drops = sa.Table(
    "meter_rollup_drops",
    metadata,
    sa.Column("account_id", sa.String(24), nullable=False),
    sa.Column("rollup_id", sa.String(24), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("account_id", "rollup_id"),
)
