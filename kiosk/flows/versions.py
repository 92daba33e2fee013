"""Flow versions: drafts the broker edits, and published versions that never change.

A published version is one row of ``flow_versions``: the exact script text, its sha256 (the
same ``Flow.content_hash`` a witness session records), who published it and when. Its number
is the script's own ``version:`` field, so the ``flow_version`` stored with a session names the
published row. Rows are refused any UPDATE or DELETE twice over: by an ORM hook and by
database triggers (SQLite, or PL/pgSQL on PostgreSQL), so neither a careless caller nor a raw
SQL statement can rewrite history.
Witness sessions bind through ``resolve_flow``: the latest published version once a flow has
been published at all, else the file in ``flows_dir`` (so a fresh install works unpublished).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    DDL,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.errors import FlowError
from kiosk.flows.library import FlowLibrary, UnknownFlowError
from kiosk.flows.loader import load_flow
from kiosk.flows.model import FLOW_ID_RE, Flow, is_flow_id
from kiosk.store import Base, SessionStore, WitnessRow
from kiosk.utc import utc_iso, utcnow

log = logging.getLogger(__name__)

_REF_RE = re.compile(rf"({FLOW_ID_RE.pattern})@([0-9]{{1,9}}|latest)")
_PUBLISHER_RE = re.compile(r"^\S(.{0,62}\S)?$")


class VersionError(FlowError):
    """Publishing or looking up a version failed; the message says what to do."""


class FlowVersion(Base):
    """One published, immutable version of a flow script."""

    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_id", "version", name="uq_flow_versions_version"),
        UniqueConstraint("flow_id", "content_hash", name="uq_flow_versions_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    def public(self, with_source: bool = False) -> dict:
        out = {"flow_id": self.flow_id, "version": self.version,
               "content_hash": self.content_hash, "published_by": self.published_by,
               "published_at": utc_iso(self.published_at, "auto")}
        if with_source:
            out["source"] = self.source
        return out


class FlowDraft(Base):
    """The broker's work in progress for one flow: free to change, never used by a witness."""

    __tablename__ = "flow_drafts"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


@event.listens_for(FlowVersion, "before_update")
def _refuse_update(_mapper, _conn, target: FlowVersion) -> None:
    raise VersionError(f"flow '{target.flow_id}' version {target.version} is published and "
                       "immutable; publish a new version instead")


@event.listens_for(FlowVersion, "before_delete")
def _refuse_delete(_mapper, _conn, target: FlowVersion) -> None:
    raise VersionError(f"flow '{target.flow_id}' version {target.version} is published and "
                       "cannot be deleted")


# The same rule in the database, for anything that bypasses the ORM: an SQLite trigger, or on
# PostgreSQL a PL/pgSQL one (TRUNCATE too, which skips row triggers). Both raise an integrity
# error (sqlalchemy.exc.IntegrityError) whose message says the versions are immutable. Each
# statement is idempotent; migration 0001 holds its own frozen copy of them.
IMMUTABLE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": tuple(
        f"CREATE TRIGGER IF NOT EXISTS flow_versions_no_{what} BEFORE {what.upper()} ON "
        "flow_versions BEGIN SELECT RAISE(ABORT, 'published flow versions are immutable'); "
        "END" for what in ("update", "delete")),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION flow_versions_immutable() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'published flow versions are immutable' "
        "USING ERRCODE = 'integrity_constraint_violation'; END $$",
        *(f"CREATE OR REPLACE TRIGGER flow_versions_no_{what} BEFORE {what.upper()} ON "
          "flow_versions FOR EACH ROW EXECUTE FUNCTION flow_versions_immutable()"
          for what in ("update", "delete")),
        "CREATE OR REPLACE TRIGGER flow_versions_no_truncate BEFORE TRUNCATE ON flow_versions "
        "FOR EACH STATEMENT EXECUTE FUNCTION flow_versions_immutable()",
    ),
}
for _dialect, _statements in IMMUTABLE_TRIGGERS.items():
    for _stmt in _statements:
        event.listen(FlowVersion.__table__, "after_create",
                     DDL(_stmt).execute_if(dialect=_dialect))


def source_hash(text: str) -> str:
    """sha256 hex of a script's UTF-8 bytes (equal to ``Flow.content_hash`` after loading)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_flow_id(flow_id: object) -> str:
    if not is_flow_id(flow_id):
        raise VersionError(f"invalid flow id {str(flow_id)[:80]!r}: use 1-64 lowercase "
                           "letters, digits and _")
    return flow_id


@dataclass(frozen=True)
class PublishResult:
    """What ``publish`` did: the version row (as a dict) and whether it was new."""

    version: dict
    created: bool


class FlowVersions:
    """Drafts and published versions on the kiosk's database (the SessionStore's engine)."""

    def __init__(self, store):
        self.store = store
        tables = Base.metadata.tables
        Base.metadata.create_all(store.engine, tables=[tables[FlowVersion.__tablename__],
                                                       tables[FlowDraft.__tablename__]])
        self._cache: dict[str, Flow] = {}  # content hash -> loaded flow
        self._lock = threading.Lock()

    # -- published versions ----------------------------------------------------------------

    def publish(self, text: str, by: str, file_name: str | None = None) -> PublishResult:
        """Publish a script text; the same content again returns the existing version.

        Refused (VersionError) when the script is invalid, or when its ``version:`` is already
        published with other content or is not above the latest published version.
        """
        if not isinstance(by, str) or not _PUBLISHER_RE.match(by):
            raise VersionError("publisher name must be 1-64 characters without leading or "
                               "trailing spaces")
        flow = self._load(text, file_name)
        digest = source_hash(text)
        with self.store.db() as db, db.begin():
            same = db.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow.id,
                                                       FlowVersion.content_hash == digest))
            if same is not None:
                return PublishResult(same.public(), created=False)
            taken = db.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow.id,
                                                        FlowVersion.version == flow.version))
            if taken is not None:
                raise VersionError(
                    f"flow '{flow.id}' version {flow.version} is already published with other "
                    f"content (sha256 {taken.content_hash[:12]}…, by {taken.published_by}); "
                    f"published versions are immutable, so set version: "
                    f"{self._next(db, flow.id)} to publish this text")
            latest = self._latest_row(db, flow.id)
            if latest is not None and flow.version < latest.version:
                raise VersionError(
                    f"flow '{flow.id}' version {flow.version} is below the latest published "
                    f"version {latest.version}; set version: {latest.version + 1}")
            row = FlowVersion(flow_id=flow.id, version=flow.version, content_hash=digest,
                              source=text, published_by=by, published_at=utcnow())
            db.add(row)
            try:
                db.flush()
            except IntegrityError as exc:  # another publisher won the race
                raise VersionError(f"flow '{flow.id}' version {flow.version} was published "
                                   "by someone else just now; reload and try again") from exc
            result = row.public()
            db.query(FlowDraft).filter(FlowDraft.flow_id == flow.id,
                                       FlowDraft.source == text).delete()
        log.info("flow %s version %d published by %s (sha256 %s)", flow.id, flow.version, by,
                 digest[:12])
        return PublishResult(result, created=True)

    def versions(self, flow_id: str) -> list[dict]:
        """Every published version of a flow, newest first."""
        check_flow_id(flow_id)
        with self.store.db() as db:
            rows = db.scalars(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                              .order_by(FlowVersion.version.desc()))
            return [r.public() for r in rows]

    def flow_ids(self) -> list[str]:
        """Ids of flows with at least one published version."""
        with self.store.db() as db:
            return sorted(set(db.scalars(select(FlowVersion.flow_id))))

    def get(self, flow_id: str, version: int | None = None) -> dict | None:
        """One version (the latest if ``version`` is None), with its source; None if absent."""
        check_flow_id(flow_id)
        with self.store.db() as db:
            if version is None:
                row = self._latest_row(db, flow_id)
            else:
                row = db.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow_id,
                                                          FlowVersion.version == version))
            return row.public(with_source=True) if row is not None else None

    def load(self, flow_id: str, version: int | None = None) -> Flow | None:
        """A published version as a Flow (the latest if ``version`` is None); None if absent."""
        row = self.get(flow_id, version)
        if row is None:
            return None
        with self._lock:
            cached = self._cache.get(row["content_hash"])
        if cached is not None:
            return cached
        flow = self._load(row["source"], f"{flow_id}.yaml")
        if flow.content_hash != row["content_hash"]:  # the database was tampered with
            raise VersionError(f"flow '{flow_id}' version {row['version']}: stored text does "
                               "not match its content hash")
        with self._lock:
            self._cache[row["content_hash"]] = flow
        return flow

    def flow_of(self, flow_id: str, text: str) -> Flow:
        """A script text as a Flow, cached by content hash; FlowError when it is invalid."""
        digest = source_hash(text)
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None:
            return cached
        flow = load_flow(f"{flow_id}.yaml", text)
        with self._lock:
            self._cache[digest] = flow
        return flow

    # -- drafts ----------------------------------------------------------------------------

    def save_draft(self, flow_id: str, text: str, by: str) -> None:
        """Keep the broker's unpublished text (valid or not) for later."""
        check_flow_id(flow_id)
        with self.store.db() as db, db.begin():
            draft = db.get(FlowDraft, flow_id)
            if draft is None:
                db.add(FlowDraft(flow_id=flow_id, source=text, saved_by=by, saved_at=utcnow()))
            else:
                draft.source, draft.saved_by, draft.saved_at = text, by, utcnow()

    def draft(self, flow_id: str) -> dict | None:
        check_flow_id(flow_id)
        with self.store.db() as db:
            d = db.get(FlowDraft, flow_id)
            if d is None:
                return None
            return {"flow_id": d.flow_id, "source": d.source, "saved_by": d.saved_by,
                    "saved_at": utc_iso(d.saved_at, "auto")}

    def draft_ids(self) -> list[str]:
        with self.store.db() as db:
            return sorted(db.scalars(select(FlowDraft.flow_id)))

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _load(text: str, file_name: str | None) -> Flow:
        if not isinstance(text, str):
            raise VersionError("the flow script must be text")
        try:
            return load_flow(file_name or "", text)
        except FlowError as exc:
            raise VersionError(f"cannot publish an invalid flow: {exc}",
                               problems=getattr(exc, "problems", None)) from exc

    @staticmethod
    def _latest_row(db, flow_id: str) -> FlowVersion | None:
        return db.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                         .order_by(FlowVersion.version.desc()).limit(1))

    def _next(self, db, flow_id: str) -> int:
        latest = self._latest_row(db, flow_id)
        return latest.version + 1 if latest else 1


# --------------------------------------------------------------------------- binding


class FlowSources(Protocol):
    """Where a witness's flow comes from (``kiosk.services.KioskServices`` is one): the
    session store, the ``flows_dir`` library and the published versions."""

    @property
    def store(self) -> SessionStore: ...

    @property
    def flows(self) -> FlowLibrary: ...

    @property
    def flow_versions(self) -> FlowVersions: ...


def resolve_flow(services: FlowSources, flow_id: str) -> Flow:
    """The flow a new witness runs: the latest published version, else the flows_dir file.

    Raises UnknownFlowError (a KeyError) for an unknown id, FlowError for an invalid file.
    """
    try:
        check_flow_id(flow_id)
    except VersionError as exc:
        raise UnknownFlowError(str(exc)) from None
    published = services.flow_versions.load(flow_id)
    if published is not None:
        return published
    return services.flows.get(flow_id)


def session_flow(services: FlowSources, row: WitnessRow) -> Flow:
    """The exact flow a session was created with (id, version and content hash of ``row``).

    Its copy in the session folder first (written at creation), else the published version
    with that number, else the flows_dir file; each only when its sha256 is the session's.
    Raises FlowError (the message names the flow and version, never a path) when none is.
    """
    folder = services.store.session_dir(row.id)
    copy = folder / "flow.yaml"
    candidates: list[tuple[str, str]] = []
    try:  # the copy holds exactly the bytes whose sha256 the session recorded
        candidates.append(("the session's copy", copy.read_bytes().decode("utf-8")))
    except (OSError, UnicodeDecodeError):
        pass
    try:
        published = services.flow_versions.get(row.flow_id, row.flow_version)
    except FlowError:
        published = None
    if published is not None:
        candidates.append((f"published version {row.flow_version}", published["source"]))
    for _label, text in candidates:
        if source_hash(text) == row.flow_hash:
            return services.flow_versions.flow_of(row.flow_id, text)
    try:
        library = services.flows.get(row.flow_id)
    except FlowError:
        library = None
    if library is not None and library.content_hash == row.flow_hash:
        return library
    raise FlowError(f"flow '{row.flow_id}' version {row.flow_version} (sha256 "
                    f"{row.flow_hash[:12]}) that this session was created with is not available")


# --------------------------------------------------------------------------- diff


def parse_ref(ref: str) -> tuple[str, int | None] | None:
    """``flow_id@3`` -> ("flow_id", 3); ``flow_id@latest`` -> ("flow_id", None); else None."""
    m = _REF_RE.fullmatch(ref)
    if not m:
        return None
    return m.group(1), None if m.group(2) == "latest" else int(m.group(2))


def read_ref(ref: str, registry: FlowVersions | None) -> tuple[str, str]:
    """(label, text) of a file path or a published ``FLOW_ID@VERSION``."""
    parsed = parse_ref(ref)
    if parsed is not None and not Path(ref).exists():
        if registry is None:
            raise VersionError(f"{ref}: no version store to read published versions from")
        flow_id, version = parsed
        row = registry.get(flow_id, version)
        if row is None:
            known = ", ".join(str(v["version"]) for v in registry.versions(flow_id)) or "none"
            raise VersionError(f"{ref}: no such published version of '{flow_id}' "
                               f"(published: {known})")
        return f"{flow_id}@{row['version']}", row["source"]
    path = Path(ref)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VersionError(f"{ref}: no such file, and not a FLOW_ID@VERSION reference") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VersionError(f"{ref}: cannot read ({exc})") from None


def diff_texts(a: str, b: str, label_a: str = "a", label_b: str = "b") -> str:
    """A unified diff (3 lines of context); empty when the texts are equal."""
    def lines(text: str) -> list[str]:
        out = text.splitlines(keepends=True)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"  # else the last line would run into the next diff line
        return out

    return "".join(difflib.unified_diff(lines(a), lines(b), fromfile=label_a, tofile=label_b,
                                        n=3))
