"""Alembic's environment: migrations run on the connection store/migrate.py hands in (already inside
its transaction and holding its lock), never on a URL of their own."""

from __future__ import annotations

from alembic import context

from groundhog.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("groundhog migrations run through groundhog.store.migrate, which passes a connection")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
