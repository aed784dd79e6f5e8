"""The SQL of usage over time that no other domain already has. Every query filters on account_id."""

from collections.abc import Sequence

import sqlalchemy as sa

from meterline.db.tables.core import customer_aliases
from meterline.db.tables.metering import events


def known_aliases(conn: sa.Connection, account_id: str, names: Sequence[str]) -> list[str]:
    """Every alias a customer of the account holds, or that an event of these names carries
    (what `customerIdPattern` matches): one index scan per name plus the alias table."""
    held = sa.select(customer_aliases.c.alias).where(customer_aliases.c.account_id == account_id)
    seen = (
        sa.select(events.c.customer_alias)
        .where(events.c.account_id == account_id, events.c.name.in_(list(names)))
        .distinct()
    )
    rows = conn.execute(sa.union(held, seen))
    return sorted({r[0] for r in rows})
