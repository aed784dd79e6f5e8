"""All tables, one module per domain sharing one MetaData (Alembic reads it)."""

from meterline.db.tables import billing, catalog, core, jobs, metering, webhooks  # noqa: F401
from meterline.db.tables.base import metadata

__all__ = ["metadata"]
