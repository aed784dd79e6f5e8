from alembic import context

from meterline.db.engine import Database
from meterline.db.tables import metadata

db: Database = context.config.attributes["database"]

with db.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=db.is_sqlite,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
