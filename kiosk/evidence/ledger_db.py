"""The evidence ledger in PostgreSQL, for several nodes sharing one database.

The file ledger (``kiosk.evidence.ledger.Ledger``) is chained under ``flock``, which holds
only for processes on one host. With ``database_url`` on PostgreSQL the ledger is the table
``evidence_ledger`` instead: one row per entry, holding exactly the JSON line the file ledger
would write (same fields, same hash chain, same signature), so ``kiosk ledger export`` gives
a file that ``kiosk ledger verify`` and ``kiosk evidence verify --ledger`` check offline.

Appending takes ``pg_advisory_xact_lock(LEDGER_LOCK_KEY)`` in the appending transaction:
every node and CLI process waits for the previous append to commit, reads the last entry and
chains onto it, so the chain stays linear across processes and hosts. The lock is released
by COMMIT or ROLLBACK, so a node that dies mid-append cannot hold it. ``seq`` is the primary
key and the hash is unique, so even a writer that skipped the lock could not fork the chain:
its insert would fail. Rows refuse UPDATE, DELETE and TRUNCATE through PL/pgSQL triggers
(migration ``0002``), as published flow versions do.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import DDL, Integer, String, Text, event, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.errors import EvidenceError
from kiosk.evidence.ledger import Ledger, _refuse_second
from kiosk.store import Base

log = logging.getLogger(__name__)

# The advisory lock key every appender takes (a signed 64-bit number; ASCII "kioskLDG").
LEDGER_LOCK_KEY = 0x6B696F736B4C4447


class LedgerEntryRow(Base):
    """One ledger entry; ``entry_json`` is the exact line of the file form, without newline."""

    __tablename__ = "evidence_ledger"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    package_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_json: Mapped[str] = mapped_column(Text)


# The same triggers as migration 0002, for a schema made by create_all (tests, compare).
APPEND_ONLY_DDL = (
    "CREATE OR REPLACE FUNCTION evidence_ledger_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the evidence ledger is append-only' "
    "USING ERRCODE = 'integrity_constraint_violation'; END $$",
    "CREATE OR REPLACE TRIGGER evidence_ledger_no_update BEFORE UPDATE ON evidence_ledger "
    "FOR EACH ROW EXECUTE FUNCTION evidence_ledger_append_only()",
    "CREATE OR REPLACE TRIGGER evidence_ledger_no_delete BEFORE DELETE ON evidence_ledger "
    "FOR EACH ROW EXECUTE FUNCTION evidence_ledger_append_only()",
    "CREATE OR REPLACE TRIGGER evidence_ledger_no_truncate BEFORE TRUNCATE ON evidence_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION evidence_ledger_append_only()",
)
for _stmt in APPEND_ONLY_DDL:
    event.listen(LedgerEntryRow.__table__, "after_create",
                 DDL(_stmt).execute_if(dialect="postgresql"))


class DbLedger(Ledger):
    """The ledger in the ``evidence_ledger`` table of a PostgreSQL database.

    Same interface and entry format as ``Ledger``; ``path`` is only a label here. Raises
    ValueError for an engine that is not PostgreSQL (SQLite keeps the file ledger).
    """

    def __init__(self, engine: Engine, keys=None):
        if engine.dialect.name != "postgresql":
            raise ValueError(f"the database ledger needs PostgreSQL, not {engine.dialect.name}; "
                             "SQLite installations keep the ledger file")
        super().__init__(Path("evidence_ledger"), keys=keys)
        self.engine = engine

    @property
    def label(self) -> str:
        url = self.engine.url
        return f"ledger table evidence_ledger in {url.database or '?'} on {url.host or 'socket'}"

    def _exists(self) -> bool:
        return True

    def _append(self, body: dict, once_type: str | None = None) -> int:
        with self._lock, self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
            if once_type is not None:  # under the lock: no other appender runs in between
                lines = conn.scalars(select(LedgerEntryRow.entry_json).where(
                    LedgerEntryRow.package_id == body["package_id"],
                    LedgerEntryRow.kind == "record").order_by(LedgerEntryRow.seq))
                _refuse_second([self._parse(line, f"a record about {body['package_id']}")
                                for line in lines], body["package_id"], once_type)
            last_json = conn.scalar(select(LedgerEntryRow.entry_json)
                                    .order_by(LedgerEntryRow.seq.desc()).limit(1))
            last = self._parse(last_json, "last entry") if last_json is not None else None
            entry = self._chain(last, body)
            conn.execute(insert(LedgerEntryRow).values(
                seq=entry["seq"], kind=entry["kind"], package_id=entry["package_id"],
                entry_hash=entry["hash"], entry_json=json.dumps(entry, ensure_ascii=False)))
        return entry["seq"]

    def _parse(self, line: str, what: str) -> dict:
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise EvidenceError(f"{self.label}: {what} is not valid JSON ({exc})") from exc
        if not isinstance(entry, dict):
            raise EvidenceError(f"{self.label}: {what} is not a JSON object")
        return entry

    def _read(self) -> tuple[list[dict], list[str]]:
        entries: list[dict] = []
        problems: list[str] = []
        with self.engine.connect() as conn:
            for seq, line in conn.execute(select(LedgerEntryRow.seq, LedgerEntryRow.entry_json)
                                          .order_by(LedgerEntryRow.seq)):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    problems.append(f"{self.label} seq {seq}: not valid JSON")
        return entries, problems

    def find(self, package_id: str) -> dict | None:
        with self.engine.connect() as conn:
            line = conn.scalar(select(LedgerEntryRow.entry_json).where(
                LedgerEntryRow.package_id == package_id, LedgerEntryRow.kind == "package")
                .order_by(LedgerEntryRow.seq).limit(1))
        return self._parse(line, f"entry of package {package_id}") if line else None

    def records(self, package_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            lines = list(conn.scalars(select(LedgerEntryRow.entry_json).where(
                LedgerEntryRow.package_id == package_id, LedgerEntryRow.kind == "record")
                .order_by(LedgerEntryRow.seq)))
        return [self._parse(line, f"a record about {package_id}") for line in lines]

    def export(self, out: Path) -> int:
        """Write the ledger as the file form (one JSON line per entry) to ``out``; returns the
        number of entries. The file verifies with ``kiosk ledger verify --ledger out``."""
        n = 0
        with self.engine.connect() as conn, open(out, "w", encoding="utf-8") as fh:
            for line in conn.scalars(select(LedgerEntryRow.entry_json)
                                     .order_by(LedgerEntryRow.seq)):
                fh.write(line + "\n")
                n += 1
        return n


def open_ledger(db_url: str, ledger_path: Path, keys=None, engine: Engine | None = None) -> Ledger:
    """The installation's ledger: the ``evidence_ledger`` table when ``db_url`` is PostgreSQL
    (``engine`` reused when given), else the file ``ledger_path``."""
    if db_url.startswith("postgresql"):
        if engine is None:
            from sqlalchemy import create_engine

            engine = create_engine(db_url, pool_pre_ping=True)
        return DbLedger(engine, keys=keys)
    return Ledger(ledger_path, keys=keys)
