"""The end reason of a witness holds up to 128 characters: ``referred:<step id>`` and
``step_failed:<step id>`` with a step id of up to 64 characters (``kiosk.flows.model.
MAX_ID_LENGTH``) reach 73, over the 64 of revision 0001 (PostgreSQL refused them; SQLite does
not enforce a length).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("witness_sessions") as batch:
        batch.alter_column("end_reason", existing_type=sa.String(length=64),
                           type_=sa.String(length=128), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("witness_sessions") as batch:
        batch.alter_column("end_reason", existing_type=sa.String(length=128),
                           type_=sa.String(length=64), existing_nullable=True)
