"""events and meter rollups

Revision ID: 0003_events
Revises: 0002_meters
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_events"
down_revision = "0002_meters"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = ("account_id", "meter_id", "alias", "level", "bucket", "instance")


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("meter_id", sa.String(24), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("customer_alias", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("uq_events_account_ref", "events", ["account_id", "ref"], unique=True)
    op.create_index("ix_events_account_name_alias_ts", "events", ["account_id", "name", "customer_alias", "ts"])
    op.create_index("ix_events_account_ts", "events", ["account_id", "ts"])
    op.create_table(
        "meter_rollups",
        *_key_columns(),
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
        sa.PrimaryKeyConstraint(*_KEY, name="pk_meter_rollups"),
    )
    op.create_table(
        "meter_distinct",
        *_key_columns(),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, "value", name="pk_meter_distinct"),
    )


def downgrade() -> None:
    for name in ("meter_distinct", "meter_rollups", "events"):
        op.drop_table(name)
