from alembic import context

from meterline.db.engine import Database
from meterline.db.tables import metadata

db: Database = context.config.attributes["database"]
postgres = not db.is_sqlite

with db.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=db.is_sqlite,
        # PostgreSQL: every pending migration in one transaction (its DDL is transactional),
        # behind a transaction-scoped advisory lock: servers starting together on one
        # database queue here, and each later one finds the schema already at head. The
        # lock is of the transaction, so it also holds through PgBouncer's transaction pooling.
        transaction_per_migration=not postgres,
    )
    with context.begin_transaction():
        if postgres:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('meterline.migrate'))")
        context.run_migrations()
    connection.commit()
