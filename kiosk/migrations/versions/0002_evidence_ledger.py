"""The evidence ledger as a table, for installations on PostgreSQL (kiosk.evidence.ledger_db):
append-only, enforced by PL/pgSQL triggers. SQLite installations keep the ledger file; the
table is made there too (empty) so that both engines have one schema.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION evidence_ledger_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the evidence ledger is append-only' "
    "USING ERRCODE = 'integrity_constraint_violation'; END $$",
    *(f"CREATE OR REPLACE TRIGGER evidence_ledger_no_{what} BEFORE {what.upper()} ON "
      "evidence_ledger FOR EACH ROW EXECUTE FUNCTION evidence_ledger_append_only()"
      for what in ("update", "delete")),
    "CREATE OR REPLACE TRIGGER evidence_ledger_no_truncate BEFORE TRUNCATE ON evidence_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION evidence_ledger_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "evidence_ledger",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entry_hash"),
    )
    op.create_index("ix_evidence_ledger_package_id", "evidence_ledger", ["package_id"])
    if op.get_bind().dialect.name == "postgresql":
        for stmt in _PG_TRIGGERS:
            op.execute(stmt)


def downgrade() -> None:
    op.drop_table("evidence_ledger")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS evidence_ledger_append_only()")
