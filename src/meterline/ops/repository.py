"""The SQL of the operating endpoints. These read across accounts on purpose: they describe
the server, not a tenant, and answer only counts and ages (no tenant data)."""

import sqlalchemy as sa

from meterline.db.tables.webhooks import webhook_deliveries as deliveries
from meterline.webhooks.repository import FAILED, PENDING

# The failed gauge counts among the latest deliveries only: `status` has no index, and a
# scrape must stay cheap however many delivered rows the outbox keeps.
FAILED_WINDOW = 10_000


def ping(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT 1")).scalar_one()


def outbox(conn: sa.Connection) -> tuple[int, int | None, int]:
    """(pending deliveries, created_at of the oldest pending in µs or None, failed among the
    latest FAILED_WINDOW). Pending rows are read through the partial due index."""
    pending, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(deliveries.c.created_at)).where(deliveries.c.status == PENDING)
    ).one()
    latest = sa.select(deliveries.c.status).order_by(deliveries.c.seq.desc()).limit(FAILED_WINDOW).subquery()
    failed = conn.execute(sa.select(sa.func.count()).select_from(latest).where(latest.c.status == FAILED)).scalar_one()
    return int(pending), None if oldest is None else int(oldest), int(failed)
