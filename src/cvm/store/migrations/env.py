"""Alembic environment for the programme's store, run from code (`cvm.store.db.upgrade`).

The caller passes an open connection in ``config.attributes["connection"]``; there is no
alembic.ini and no URL here.
"""

from alembic import context

from cvm.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the programme's migrations with cvm.store.db.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
