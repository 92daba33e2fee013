"""The schema as it stood before migrations: witness sessions, flow versions and drafts
(immutable published versions, enforced by triggers), and the review console's tables.

A database made by ``create_all`` before Alembic came in is adopted at this revision by
``kiosk.migrations.upgrade`` (it fills what is missing, then stamps 0001).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when kiosk.flows.versions does.
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS flow_versions_no_{what} BEFORE {what.upper()} ON "
    "flow_versions BEGIN SELECT RAISE(ABORT, 'published flow versions are immutable'); END"
    for what in ("update", "delete")
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION flow_versions_immutable() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION 'published flow versions are immutable' "
    "USING ERRCODE = 'integrity_constraint_violation'; END $$",
    *(f"CREATE OR REPLACE TRIGGER flow_versions_no_{what} BEFORE {what.upper()} ON "
      "flow_versions FOR EACH ROW EXECUTE FUNCTION flow_versions_immutable()"
      for what in ("update", "delete")),
    "CREATE OR REPLACE TRIGGER flow_versions_no_truncate BEFORE TRUNCATE ON flow_versions "
    "FOR EACH STATEMENT EXECUTE FUNCTION flow_versions_immutable()",
]


def upgrade() -> None:
    op.create_table(
        "witness_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("flow_hash", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("applicant_json", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(length=128), nullable=True),
        sa.Column("recording_frames", sa.Integer(), nullable=True),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(), nullable=True),
        sa.Column("package_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_witness_sessions_state", "witness_sessions", ["state"])
    op.create_index("ix_witness_sessions_token_hash", "witness_sessions", ["token_hash"],
                    unique=True)

    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow_id", "content_hash", name="uq_flow_versions_hash"),
        sa.UniqueConstraint("flow_id", "version", name="uq_flow_versions_version"),
    )
    op.create_index("ix_flow_versions_flow_id", "flow_versions", ["flow_id"])
    op.create_table(
        "flow_drafts",
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=64), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id"),
    )

    op.create_table(
        "review_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("languages_csv", sa.String(length=256), nullable=False),
        sa.Column("flows_csv", sa.String(length=512), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_users_username", "review_users", ["username"], unique=True)
    op.create_table(
        "review_cases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("flow_priority", sa.String(length=8), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=24), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("prereview_json", sa.Text(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(), nullable=False),
        sa.Column("sla_due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("assigned_by", sa.String(length=16), nullable=True),
        sa.Column("locked_by", sa.Integer(), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(), nullable=True),
        sa.Column("escalation", sa.String(length=16), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_cases_assigned_to", "review_cases", ["assigned_to"])
    op.create_index("ix_review_cases_session_id", "review_cases", ["session_id"])
    op.create_index("ix_review_cases_status", "review_cases", ["status"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons_csv", sa.String(length=256), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("review_seconds", sa.Float(), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("new_session_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_decisions_case_id", "review_decisions", ["case_id"])
    op.create_index("ix_review_decisions_user_id", "review_decisions", ["user_id"])
    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_audit_action", "review_audit", ["action"])
    op.create_index("ix_review_audit_at", "review_audit", ["at"])
    op.create_index("ix_review_audit_case_id", "review_audit", ["case_id"])

    dialect = op.get_bind().dialect.name
    for stmt in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(dialect, []):
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in ("review_audit", "review_decisions", "review_cases", "review_users",
                  "flow_drafts", "flow_versions", "witness_sessions"):
        op.drop_table(table)  # drops the table's indexes and triggers with it
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS flow_versions_immutable()")
