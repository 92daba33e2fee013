"""One installation's secrets in its database, shared by every node (issue #17, item 6).

With several nodes (``Settings.shared_state``: Redis configured, or a database other than
SQLite) a per-node file would give each node its own evidence signing key and its own Flask
secret. Instead:

- ``DbEvidenceKeys``: the ``evidence_keys`` table holds every signing key the installation
  has used (``seq``, ``key_id``, public PEM, creation and retirement times) and the private
  key of the current one only, PKCS#8, encrypted with ``evidence_key_passphrase`` when it is
  set. The current key is the newest row not retired. ``rotate()`` adds a key and retires
  the others, dropping their private keys; their public keys stay, so packages they signed
  still verify. Every node signs with the same current key; a node picks up a rotation at its
  next seal (``refresh``).
- ``shared_secret(engine, name)``: a random value made once per installation
  (``installation_secrets``), e.g. the Flask secret when ``secret_key`` is not set.

Both tables come with migration 0004.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import DateTime, Integer, String, Text, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiosk.errors import EvidenceError
from kiosk.evidence.keys import (
    KeyEntry,
    LoadedKey,
    key_id_of,
    load_public_key,
    public_key_pem,
)
from kiosk.store import Base
from kiosk.utc import utc_iso, utcnow

log = logging.getLogger(__name__)


class EvidenceKeyRow(Base):
    __tablename__ = "evidence_keys"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[str | None] = mapped_column(Text, nullable=True)  # current key only
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SecretRow(Base):
    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def shared_secret(engine: Engine, name: str) -> str:
    """The installation's secret ``name`` (64 hex digits), made on first use; every node
    reading it gets the same value (the first writer wins)."""
    for _ in range(3):
        with engine.connect() as conn:
            value = conn.scalar(select(SecretRow.value).where(SecretRow.name == name))
        if value:
            return value
        try:
            with engine.begin() as conn:
                conn.execute(insert(SecretRow).values(name=name, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another node made it first: read theirs
    raise EvidenceError(f"the shared secret {name!r} could not be read or made")


class DbEvidenceKeys(LoadedKey):
    """The installation's signing keys in the database; the interface of ``EvidenceKeys``."""

    def __init__(self, engine: Engine, passphrase: str = "", import_dir: Path | None = None):
        self.engine = engine
        self._passphrase = passphrase.encode() if passphrase else None
        self.import_dir = import_dir
        self._lock = threading.Lock()
        self._private: Ed25519PrivateKey | None = None
        self._key_id: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure(self) -> None:
        """Load the current key; the first node to find none makes it (and first copies the
        public keys of ``import_dir``, a node's keyring from before, as retired keys)."""
        with self._lock:
            if self._private is not None:
                return
            self._ensure_locked()

    def _ensure_locked(self) -> None:
        for _ in range(5):
            if self._load_current_locked():
                return
            if self.import_dir is not None:
                self._import_locked(self.import_dir)
            try:
                self._insert_locked(Ed25519PrivateKey.generate(), retire_others=False)
            except IntegrityError:
                continue  # another node made one at the same moment: load theirs
            if self._load_current_locked():
                return
        raise EvidenceError("no current evidence signing key could be loaded or made")

    def _current_row(self, db: Session) -> EvidenceKeyRow | None:
        return db.execute(select(EvidenceKeyRow).where(EvidenceKeyRow.retired_at.is_(None))
                            .order_by(EvidenceKeyRow.seq.desc()).limit(1)).scalar_one_or_none()

    def _load_current_locked(self) -> bool:
        with Session(self.engine) as db:
            row = self._current_row(db)
        if row is None or row.private_pem is None:
            return False
        try:
            key = serialization.load_pem_private_key(row.private_pem.encode("ascii"),
                                                     password=self._passphrase)
        except (ValueError, TypeError) as exc:
            raise EvidenceError(
                f"the current evidence signing key {row.key_id} cannot be read with this "
                "node's evidence_key_passphrase (every node needs the same one): "
                f"{exc}") from exc
        if not isinstance(key, Ed25519PrivateKey) or key_id_of(key.public_key()) != row.key_id:
            raise EvidenceError(f"evidence_keys row {row.seq} does not hold key {row.key_id}")
        self._private, self._key_id = key, row.key_id
        return True

    def _insert_locked(self, key: Ed25519PrivateKey, *, retire_others: bool) -> str:
        kid = key_id_of(key.public_key())
        encryption = (serialization.BestAvailableEncryption(self._passphrase)
                      if self._passphrase else serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption).decode("ascii")
        now = utcnow()
        with self.engine.begin() as conn:
            seq = (conn.scalar(select(func.max(EvidenceKeyRow.seq))) or 0) + 1
            if retire_others:
                # A retired private key only adds risk: it must never sign again.
                conn.execute(update(EvidenceKeyRow).where(EvidenceKeyRow.retired_at.is_(None))
                             .values(retired_at=now, private_pem=None))
            conn.execute(insert(EvidenceKeyRow).values(
                seq=seq, key_id=kid, public_pem=public_key_pem(key.public_key()).decode(),
                private_pem=pem, created_at=now, retired_at=None))
        log.info("made evidence signing key %s (shared by every node)", kid)
        return kid

    def _import_locked(self, folder: Path) -> None:
        for path in sorted(Path(folder).glob("*.pub.pem")):
            key = load_public_key(path)
            kid = key_id_of(key)
            try:
                with self.engine.begin() as conn:
                    if conn.scalar(select(EvidenceKeyRow.seq)
                                   .where(EvidenceKeyRow.key_id == kid)) is not None:
                        continue
                    seq = (conn.scalar(select(func.max(EvidenceKeyRow.seq))) or 0) + 1
                    conn.execute(insert(EvidenceKeyRow).values(
                        seq=seq, key_id=kid, public_pem=public_key_pem(key).decode(),
                        private_pem=None, created_at=utcnow(), retired_at=utcnow()))
                log.info("kept the old public key %s from %s in the shared keyring", kid, folder)
            except IntegrityError:
                continue  # another node imported it at the same moment

    def refresh(self) -> None:
        """Follow a rotation made elsewhere (another node, ``kiosk evidence rotate-key``)."""
        with self._lock:
            with self.engine.connect() as conn:
                current = conn.scalar(select(EvidenceKeyRow.key_id)
                                      .where(EvidenceKeyRow.retired_at.is_(None))
                                      .order_by(EvidenceKeyRow.seq.desc()).limit(1))
            if current != self._key_id:
                self._private = self._key_id = None
                self._ensure_locked()

    def rotate(self) -> str:
        """Make a new current key for every node and retire the others (their private keys
        are dropped, their public keys kept). Returns the new key id; EvidenceError when
        another node rotated at the same moment."""
        self.ensure()
        with self._lock:
            old = self._key_id
            try:
                new = self._insert_locked(Ed25519PrivateKey.generate(), retire_others=True)
            except IntegrityError as exc:
                raise EvidenceError("another node rotated the signing key at the same moment; "
                                    "nothing changed here, try again") from exc
            self._private = self._key_id = None
            self._ensure_locked()
            log.info("rotated evidence signing key %s -> %s", old, new)
            return new

    def entries(self) -> list[KeyEntry]:
        """Every key of the installation, the current one first, then the retired ones
        newest first (reads only; [] before the first node started)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(EvidenceKeyRow.key_id, EvidenceKeyRow.public_pem,
                                       EvidenceKeyRow.created_at, EvidenceKeyRow.retired_at)
                                .order_by(EvidenceKeyRow.seq.desc())).all()
        out = []
        for kid, pem, created, retired in rows:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey) or key_id_of(key) != kid:
                raise EvidenceError(f"evidence_keys: the row of {kid} holds another key")
            out.append(KeyEntry(kid, key, retired is None, utc_iso(created, "seconds"),
                                utc_iso(retired, "seconds") if retired else ""))
        return sorted(out, key=lambda e: not e.current)  # stable: newest retired first

    def keyring(self) -> dict[str, Ed25519PublicKey]:
        """{key_id: public key} of every key the installation has used."""
        ring: dict[str, Ed25519PublicKey] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(EvidenceKeyRow.key_id, EvidenceKeyRow.public_pem)
                                .order_by(EvidenceKeyRow.seq)).all()
        for kid, pem in rows:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey) or key_id_of(key) != kid:
                raise EvidenceError(f"evidence_keys: the row of {kid} holds another key")
            ring[kid] = key
        return ring
