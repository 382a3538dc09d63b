"""Alembic environment: the connection is handed in by earshot.store.database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from earshot.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # command-line use by developers: `alembic -x url=... revision`
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///:memory:")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
