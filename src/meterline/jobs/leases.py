"""All SQL of job leases (table job_leases). Not account data: one row per job name.

A lease is taken or renewed with one conditional upsert, the same statement on SQLite and
PostgreSQL: the row is written only when it is absent, already ours, or expired. Two
processes racing for an expired row both run the statement; the database serialises them
on the row (PostgreSQL's row lock, SQLite's write lock) and the second one's condition then
fails, so exactly one of them holds it.
"""

import sqlalchemy as sa

_ACQUIRE = (
    "INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES (:name, :holder, :now, :expires) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
    "acquired_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.acquired_at "
    "ELSE excluded.acquired_at END "
    "WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= excluded.acquired_at"
)


def acquire(conn: sa.Connection, *, name: str, holder: str, now_us: int, ttl_us: int) -> bool:
    """Take or renew the lease of job `name` for `holder` until now + ttl; True when held."""
    result = conn.execute(
        sa.text(_ACQUIRE), {"name": name, "holder": holder, "now": now_us, "expires": now_us + ttl_us}
    )
    return result.rowcount == 1


def release(conn: sa.Connection, *, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), if it is still ours."""
    conn.execute(
        sa.text("DELETE FROM job_leases WHERE name = :name AND holder = :holder"), {"name": name, "holder": holder}
    )


def current(conn: sa.Connection, *, name: str) -> tuple[str, int] | None:
    """(holder, expires_at µs) of job `name`, or None when nobody ever held it."""
    row = conn.execute(sa.text("SELECT holder, expires_at FROM job_leases WHERE name = :name"), {"name": name}).first()
    return None if row is None else (str(row[0]), int(row[1]))
