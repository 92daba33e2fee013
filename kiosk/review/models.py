"""Review tables, on the same SQLAlchemy engine and Base as the witness sessions (kiosk.store)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.store import Base
from kiosk.utc import utc_iso, utcnow

ROLES = ("auditor", "supervisor", "broker_admin")


def _csv(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class StaffUser(Base):
    """A console account. ``languages`` / ``flows`` are comma lists; empty means any."""

    __tablename__ = "review_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    languages_csv: Mapped[str] = mapped_column(String(256), default="")
    flows_csv: Mapped[str] = mapped_column(String(512), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Each login cookie carries the value it was issued with; a logout bumps it, which ends
    # every cookie issued before (copies included) on their next request.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def languages(self) -> list[str]:
        return _csv(self.languages_csv)

    @property
    def flows(self) -> list[str]:
        return _csv(self.flows_csv)

    def public(self) -> dict:
        return {"id": self.id, "username": self.username, "role": self.role,
                "languages": self.languages, "flows": self.flows, "active": self.active}


# Columns added after a release: (table, column, SQL type and default) for upgrade_schema.
_ADDED_COLUMNS = (("review_users", "session_generation", "INTEGER NOT NULL DEFAULT 0"),)


def upgrade_schema(engine) -> None:
    """Add the columns a database made by an older version lacks (create_all only makes
    missing tables). Idempotent; call after ``Base.metadata.create_all``."""
    from sqlalchemy import inspect, text

    insp = inspect(engine)
    for table, column, ddl in _ADDED_COLUMNS:
        if column not in {c["name"] for c in insp.get_columns(table)}:
            with engine.begin() as con:
                con.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


class ReviewCase(Base):
    """One sealed witness package waiting for (or having had) a human decision."""

    __tablename__ = "review_cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the package id
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    flow_id: Mapped[str] = mapped_column(String(64), default="")
    flow_priority: Mapped[str] = mapped_column(String(8), default="normal")
    locale: Mapped[str] = mapped_column(String(8), default="")
    verdict: Mapped[str] = mapped_column(String(24), default="needs_attention")
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    prereview_json: Mapped[str] = mapped_column(Text, default="{}")
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sla_due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    assigned_to: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # who assigned it: self, dispatch or supervisor (a supervisor pick survives lock release)
    assigned_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locked_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lock_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    escalation: Mapped[str] = mapped_column(String(16), default="ok")  # ok|at_risk|breached
    escalated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)

    @property
    def prereview(self) -> dict:
        return json.loads(self.prereview_json or "{}")


class ReviewDecisionRow(Base):
    """A decision as recorded in the ledger (the ledger entry is the evidence; this is an index)."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    decision: Mapped[str] = mapped_column(String(16))
    reasons_csv: Mapped[str] = mapped_column(String(256), default="")
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    review_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    ledger_seq: Mapped[int] = mapped_column(Integer)
    new_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditEntry(Base):
    """Who did or saw what, when. ``detail`` never holds ID numbers or images."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str] = mapped_column(String(64), default="")

    def public(self) -> dict:
        return {"at": utc_iso(self.at, "auto"), "user": self.username, "action": self.action,
                "case_id": self.case_id, "ip": self.ip,
                "detail": json.loads(self.detail_json or "{}")}
