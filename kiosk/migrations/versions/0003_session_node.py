"""The node that runs each witness: ``witness_sessions.node_id``, written when the investor
joins, so that start-up recovery on several nodes touches only this node's sessions or those
of a node whose lease expired (kiosk.recovery). NULL for sessions from before this revision
and for sessions that were never joined.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database adopted from before migrations (kiosk.migrations._adopt) may have had the
    # witness_sessions table made by the current models, column and index included.
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("witness_sessions")}
    indexes = {i["name"] for i in inspector.get_indexes("witness_sessions")}
    with op.batch_alter_table("witness_sessions") as batch:
        if "node_id" not in columns:
            batch.add_column(sa.Column("node_id", sa.String(length=128), nullable=True))
        if "ix_witness_sessions_node_id" not in indexes:
            batch.create_index("ix_witness_sessions_node_id", ["node_id"])


def downgrade() -> None:
    with op.batch_alter_table("witness_sessions") as batch:
        batch.drop_index("ix_witness_sessions_node_id")
        batch.drop_column("node_id")
