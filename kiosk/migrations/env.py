"""Alembic's entry point for ``kiosk db upgrade`` (kiosk.migrations): runs the migrations on
the connection the caller hands over in ``config.attributes["connection"]``; nothing here
reads a URL or a file of its own."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("kiosk migrations run through kiosk.migrations (kiosk db upgrade), "
                       "which passes the connection; the alembic command line is not set up")
context.configure(connection=connection, target_metadata=None,
                  # SQLite cannot ALTER most things in place: batch mode copies the table.
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
