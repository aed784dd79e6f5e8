"""The overview's own SQL: webhook deliveries by status (no webhooks service counts them).
Every query filters on account_id."""

import sqlalchemy as sa

from meterline.db.tables.webhooks import webhook_deliveries as _D


def delivery_counts(conn: sa.Connection, account_id: str) -> dict[str, int]:
    """{status: count} of the account's webhook deliveries (pending, delivered, failed, cancelled)."""
    rows = conn.execute(
        sa.select(_D.c.status, sa.func.count()).where(_D.c.account_id == account_id).group_by(_D.c.status)
    )
    return {str(r[0]): int(r[1]) for r in rows}
