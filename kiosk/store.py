"""Persistence: witness sessions in SQLite or PostgreSQL (through SQLAlchemy) plus their folders
on disk.

Investor links are stored only as the sha256 of their token, so a copy of the database does
not hand out working links.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import uuid
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from kiosk.atomic_files import (
    FILE_MODE,
    free_mb,
    is_disk_full,
    make_private_dir,
    write_atomic,
)
from kiosk.errors import LinkError, StorageFull
from kiosk.evidence.package import mask_id_number
from kiosk.session import TERMINAL
from kiosk.utc import utc_iso, utcnow

log = logging.getLogger(__name__)

LIVE_STATES = ("created", "active")
# The ended states are the state machine's terminal phases (kiosk.session.TERMINAL).
TERMINAL_STATES = tuple(sorted(TERMINAL))


class Base(DeclarativeBase):
    pass


class WitnessRow(Base):
    __tablename__ = "witness_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    joined_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="created", index=True)
    end_reason: Mapped[str | None] = mapped_column(String(128), nullable=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int] = mapped_column(Integer)
    flow_hash: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    applicant_json: Mapped[str] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    recording_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    sealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    package_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The node process running the witness (Settings.effective_node_id), set at join.
    node_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)

    @property
    def applicant(self) -> dict:
        return json.loads(self.applicant_json)

    def public(self) -> dict:
        """What the back office may see: no ID number, no photo."""
        return {
            "session_id": self.id,
            "state": self.state,
            "end_reason": self.end_reason,
            "flow": {"id": self.flow_id, "version": self.flow_version, "hash": self.flow_hash},
            "locale": self.locale,
            "created_at": utc_iso(self.created_at, "auto"),
            "expires_at": utc_iso(self.expires_at, "auto"),
            "joined_at": utc_iso(self.joined_at, "auto") if self.joined_at else None,
            "ended_at": utc_iso(self.ended_at, "auto") if self.ended_at else None,
            "recovered": self.recovered,
            "sealed": self.sealed_at is not None,
            "package_id": self.package_id,
            "external_ref": self.external_ref,
        }


def masked_applicant(applicant: dict, mask: str) -> dict:
    """``applicant`` with its ID number masked by ``mask`` (the ``id_mask`` setting:
    keep_last4 | full | none); ConfigError for an unknown mask."""
    out = dict(applicant)
    if out.get("id_number") is not None:
        out["id_number"] = mask_id_number(str(out["id_number"]), mask)
    return out


def _create_private_file(path: Path) -> None:
    """Create an empty ``path`` 0600 unless it exists (SQLite gives its -wal and -shm files
    the database file's mode)."""
    if path.name in ("", ":memory:") or path.exists():
        return
    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        return
    os.chmod(path, FILE_MODE)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Witness session rows; every method opens and closes its own DB session.

    Opening one does not touch the schema: ``kiosk.migrations.open_store`` opens it with the
    schema made ready (migrated or checked), as the server and the commands do.
    """

    def __init__(self, db_url: str, sessions_dir: Path, min_free_mb: float = 0.0):
        self.sessions_dir = sessions_dir
        self.min_free_mb = min_free_mb
        if db_url.startswith("sqlite:///"):
            _create_private_file(Path(db_url.removeprefix("sqlite:///")))
        # pre_ping: a pooled PostgreSQL connection may have been closed by a restart or a
        # proxy in between; SQLite files have no such connections.
        self.engine = create_engine(db_url, future=True,
                                    pool_pre_ping=not db_url.startswith("sqlite"))
        if db_url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(conn, _record):  # durability + concurrent readers
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA busy_timeout=5000")
                # Overwrite deleted content with zeros: a scrubbed ID number must not linger
                # in free pages (forget_id_number).
                cur.execute("PRAGMA secure_delete=ON")
                cur.close()
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def db(self) -> Session:
        return self._session()

    def session_dir(self, session_id: str) -> Path:
        if not (len(session_id) == 32 and all(c in "0123456789abcdef" for c in session_id)):
            raise ValueError("bad session id")
        return self.sessions_dir / session_id

    def check_free_space(self) -> None:
        """StorageFull when the sessions disk has less than ``min_free_mb`` free."""
        if self.min_free_mb <= 0:
            return
        free = free_mb(self.sessions_dir)
        if free < self.min_free_mb:
            raise StorageFull(errno.ENOSPC, f"the data disk has {free:.0f} MB free, below the "
                                            f"floor of {self.min_free_mb:g} MB (min_free_mb)")

    def create(self, *, flow, locale: str, applicant: dict, ttl_seconds: int,
               external_ref: str | None = None,
               files: dict[str, bytes] | None = None) -> tuple[WitnessRow, str]:
        """A new session, its folder with ``files`` (name -> bytes) and its investor token
        (returned once, never stored).

        StorageFull (nothing left behind: no folder, no row) when the disk is full or below
        ``min_free_mb``.
        """
        self.check_free_space()
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = WitnessRow(
            id=uuid.uuid4().hex,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl_seconds),
            flow_id=flow.id,
            flow_version=flow.version,
            flow_hash=flow.content_hash,
            locale=locale,
            applicant_json=json.dumps(applicant, ensure_ascii=False),
            external_ref=external_ref,
        )
        folder = self.session_dir(row.id)
        try:
            make_private_dir(folder / "prompts")
            for name, content in (files or {}).items():
                write_atomic(folder / name, content)
            with self.db() as db, db.begin():
                db.add(row)
        except (OSError, OperationalError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if is_disk_full(exc):
                raise StorageFull(errno.ENOSPC, "the data disk is full: no new session can be "
                                                "stored") from exc
            raise
        return row, token

    def forget_id_number(self, session_id: str, mask: str) -> None:
        """After sealing: keep only the masked ID number, in the row and in ``session.json``.

        The witness needs the full number only while it runs (read-aloud uses its last 4
        characters); sealed evidence masks it. With SQLite the write-ahead log is checkpointed
        and truncated, and ``secure_delete`` zeroes the old row, so the number is gone from
        the files, not only from the rows. ``mask="none"`` keeps the number (the operator's
        choice).
        """
        if mask == "none":
            return
        row = self.get(session_id)
        if row is None:
            return
        applicant = masked_applicant(row.applicant, mask)
        if applicant != row.applicant:
            self.set(session_id, applicant_json=json.dumps(applicant, ensure_ascii=False))
        meta_path = self.session_dir(session_id) / "session.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
        if isinstance(meta, dict) and isinstance(meta.get("applicant"), dict):
            masked = masked_applicant(meta["applicant"], mask)
            if masked != meta["applicant"]:
                write_atomic(meta_path, json.dumps(dict(meta, applicant=masked),
                                                   ensure_ascii=False, indent=2).encode("utf-8"))
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy and busy[0]:
                log.warning("the write-ahead log could not be truncated now (readers busy); "
                            "the masked row replaces the old one at the next checkpoint",
                            extra={"session": session_id})

    def forget_expired_id_numbers(self, mask: str, now: dt.datetime | None = None) -> int:
        """Mask the ID number of every session whose link expired unused (``forget_id_number``
        for each): no witness will ever need it, and nothing is sealed for it. Returns how
        many were masked. Run by each node's periodic poll (``kiosk.review.console``)."""
        if mask == "none":
            return 0
        now = now or utcnow()
        with self.db() as db:
            rows = list(db.scalars(select(WitnessRow).where(
                WitnessRow.state == "created", WitnessRow.joined_at.is_(None),
                WitnessRow.expires_at <= now)))
        done = 0
        for row in rows:
            if masked_applicant(row.applicant, mask) != row.applicant:
                self.forget_id_number(row.id, mask)
                done += 1
        if done:
            log.info("ID numbers of %d sessions whose links expired unused were masked", done)
        return done

    def get(self, session_id: str) -> WitnessRow | None:
        with self.db() as db:
            return db.get(WitnessRow, session_id)

    def by_token(self, token: str | None) -> WitnessRow:
        """The session a link points to, if it can still be used; LinkError otherwise (also
        for a token that is not a string of 20-128 characters, None included)."""
        if not isinstance(token, str) or not (20 <= len(token) <= 128):
            raise LinkError("link_invalid", "this link is not valid")
        with self.db() as db:
            row = db.scalar(select(WitnessRow).where(WitnessRow.token_hash == hash_token(token)))
        if row is None:
            raise LinkError("link_invalid", "this link is not valid")
        if row.joined_at is not None or row.state != "created":
            raise LinkError("link_used", "this link has already been used")
        if row.expires_at <= utcnow():
            raise LinkError("link_expired", "this link has expired")
        return row

    def consume(self, token: str | None, node_id: str | None = None) -> WitnessRow:
        """Atomically mark a link used, by the node ``node_id`` (recorded as the session's
        owner, for recovery); only one caller can ever win."""
        row = self.by_token(token)
        with self.db() as db, db.begin():
            res = db.execute(
                update(WitnessRow)
                .where(WitnessRow.id == row.id, WitnessRow.joined_at.is_(None),
                       WitnessRow.state == "created")
                .values(joined_at=utcnow(), state="active", node_id=node_id)
            )
            assert isinstance(res, CursorResult)  # an UPDATE executes to a CursorResult
            if res.rowcount != 1:
                raise LinkError("link_used", "this link has already been used")
        used = self.get(row.id)
        assert used is not None  # the update above matched this row
        return used

    def set(self, session_id: str, **values) -> None:
        with self.db() as db, db.begin():
            db.execute(update(WitnessRow).where(WitnessRow.id == session_id).values(**values))

    def end(self, session_id: str, state: str, reason: str,
            ended_at: dt.datetime | None = None, **values) -> None:
        """Store the end; ``ended_at`` is when it happened (None: now), which a write delayed
        by a full disk must keep."""
        assert state in TERMINAL_STATES
        self.set(session_id, state=state, end_reason=reason, ended_at=ended_at or utcnow(),
                 **values)

    def interrupted(self) -> list[WitnessRow]:
        """Sessions that were live when the server last stopped without ending them."""
        with self.db() as db:
            return list(db.scalars(select(WitnessRow).where(WitnessRow.state == "active")))

    def claim(self, session_id: str, owner: str | None, node_id: str) -> bool:
        """Make ``node_id`` the owner of an unsealed session still owned by ``owner`` (a node
        whose lease expired); False when another node claimed it first or it was sealed."""
        with self.db() as db, db.begin():
            owned = (WitnessRow.node_id.is_(None) if owner is None
                     else WitnessRow.node_id == owner)
            res = db.execute(update(WitnessRow)
                             .where(WitnessRow.id == session_id, owned,
                                    WitnessRow.sealed_at.is_(None))
                             .values(node_id=node_id))
            assert isinstance(res, CursorResult)
            return res.rowcount == 1

    def unsealed(self) -> list[WitnessRow]:
        with self.db() as db:
            return list(db.scalars(select(WitnessRow).where(
                WitnessRow.state.in_(TERMINAL_STATES), WitnessRow.sealed_at.is_(None))))
