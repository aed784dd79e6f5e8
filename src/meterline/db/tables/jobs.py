"""Job leases: which process leads each periodic job (see meterline.jobs.leader).

Keep identical to migration 0011_job_leases.
"""

import sqlalchemy as sa

from meterline.db.tables.base import metadata

# One row per periodic job name. A process leads the job while `expires_at` (µs UTC) lies
# ahead and `holder` is its own id; it renews well before expiry, and a row whose lease
# expired may be taken by any process. Not an account's data: jobs span accounts.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("acquired_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)
