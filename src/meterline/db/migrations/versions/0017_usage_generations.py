"""a generation per customer alias, bumped whenever its folded usage changes

Revision ID: 0017_usage_generations
Revises: 0016_rollup_backlog

- usage_generations: (account_id, alias) -> gen, raised by one in the transaction that
  folds the alias's backlog into the rollups (usage/backlog.py) or recomputes its buckets
  after a delete (usage.service.on_deleted). With the backlog's row count it tells a
  reader, in one indexed look-up, whether anything of the alias's usage changed since an
  earlier snapshot: the products-consumptions read cache (consumption/cache.py) checks
  it. Rows are never deleted (one per alias that ever had events folded).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_usage_generations"
down_revision = "0016_rollup_backlog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_generations",
        sa.Column("account_id", sa.String(24), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("gen", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "alias"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("usage_generations")
