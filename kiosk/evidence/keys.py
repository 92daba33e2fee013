"""Ed25519 signing keys for evidence packages, with a keyring of every key ever used.

Layout of ``keys_dir``::

    current                 the key id that signs new packages
    <key_id>.key            PKCS#8 PEM private key (0600), only for the current key
    <key_id>.pub.pem        SubjectPublicKeyInfo PEM public key, kept for ever
    keyring.json            {key_id: {"created": ..., "retired": ... or null}}

A key id is the first 16 hex digits of the sha256 of the 32 raw public key bytes, so anyone
holding the public key can recompute it. ``rotate()`` makes a new key current and unlinks the
old private key; the old public key stays in the keyring so packages it signed still verify.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.atomic_files import write_atomic
from kiosk.errors import EvidenceError
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """First 16 hex of sha256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read one Ed25519 public key PEM; the error names the file."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{path}: not a readable PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def load_public_keys(paths) -> dict[str, Ed25519PublicKey]:
    """{key_id: key} for the given PEM files; a file may hold several keys (the bundle
    ``kiosk evidence pubkey`` prints: each key's PEM block after a ``#`` comment line)."""
    ring: dict[str, Ed25519PublicKey] = {}
    for p in paths:
        path = Path(p)
        try:
            blocks = _PEM_BLOCK.findall(path.read_bytes())
        except OSError as exc:
            raise EvidenceError(f"{path}: not a readable PEM public key ({exc})") from exc
        if len(blocks) <= 1:
            key = load_public_key(path)
            ring[key_id_of(key)] = key
            continue
        for n, block in enumerate(blocks, 1):
            try:
                loaded = serialization.load_pem_public_key(block)
            except ValueError as exc:
                raise EvidenceError(f"{path}: key {n} is not a readable PEM public key "
                                    f"({exc})") from exc
            if not isinstance(loaded, Ed25519PublicKey):
                raise EvidenceError(f"{path}: key {n} is not an Ed25519 public key")
            ring[key_id_of(loaded)] = loaded
    return ring


@dataclass(frozen=True)
class KeyEntry:
    """One key of an installation's keyring, as ``kiosk evidence pubkey`` lists it:
    ``created``/``retired`` are ISO 8601 UTC text ("" when not recorded; ``retired`` "" for
    the current key)."""

    key_id: str
    public_key: Ed25519PublicKey
    current: bool
    created: str = ""
    retired: str = ""

    def pem(self) -> bytes:
        return public_key_pem(self.public_key)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
        return True
    except InvalidSignature:
        return False




class SigningKeys(Protocol):
    """What signing and verifying need of an installation's keys: ``EvidenceKeys`` (one
    node's files) or ``kiosk.evidence.keys_db.DbEvidenceKeys`` (the shared database)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def public_key(self) -> Ed25519PublicKey: ...

    def public_pem(self) -> bytes: ...

    def keyring(self) -> dict[str, Ed25519PublicKey]: ...

    def ensure(self) -> None: ...

    def refresh(self) -> None: ...

    def rotate(self) -> str: ...


class LoadedKey:
    """The current signing key once ``ensure()`` has loaded it into ``_private`` and
    ``_key_id``: what ``EvidenceKeys`` and ``DbEvidenceKeys`` do with it alike."""

    _private: Ed25519PrivateKey | None = None
    _key_id: str | None = None

    def ensure(self) -> None:
        raise NotImplementedError

    @property
    def key_id(self) -> str:
        self.ensure()
        assert self._key_id is not None
        return self._key_id

    def public_key(self) -> Ed25519PublicKey:
        self.ensure()
        assert self._private is not None
        return self._private.public_key()

    def public_pem(self) -> bytes:
        return public_key_pem(self.public_key())

    def sign(self, data: bytes) -> bytes:
        self.ensure()
        assert self._private is not None
        return self._private.sign(data)


class EvidenceKeys(LoadedKey):
    """The signing key of this installation and the keyring of its past keys."""

    def __init__(self, keys_dir: Path):
        self.keys_dir = Path(keys_dir)
        self._lock = threading.Lock()
        self._private: Ed25519PrivateKey | None = None
        self._key_id: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure(self) -> None:
        """Load the current key, creating the first one if the directory has none."""
        with self._lock:
            if self._private is not None:
                return
            self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            current = self.keys_dir / "current"
            if not current.exists():
                self._create_locked()
                return
            self._load_locked(current.read_text(encoding="ascii").strip())

    def _load_locked(self, key_id: str) -> None:
        path = self.keys_dir / f"{key_id}.key"
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise EvidenceError(
                f"{path}: cannot load the current signing key named in "
                f"{self.keys_dir / 'current'} ({exc})"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise EvidenceError(f"{path}: not an Ed25519 private key")
        actual = key_id_of(key.public_key())
        if actual != key_id:
            raise EvidenceError(f"{path}: holds key {actual}, but its name says {key_id}")
        self._private, self._key_id = key, key_id

    def _create_locked(self) -> str:
        key = Ed25519PrivateKey.generate()
        kid = key_id_of(key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),  # the server signs unattended
        )
        write_atomic(self.keys_dir / f"{kid}.key", pem, 0o600)
        write_atomic(self.keys_dir / f"{kid}.pub.pem", public_key_pem(key.public_key()))
        meta = self._keyring_meta()
        meta[kid] = {"created": utc_iso(timespec="seconds"), "retired": None}
        write_atomic(self.keys_dir / "keyring.json", json.dumps(meta, indent=2).encode())
        # "current" is written last: a crash before it leaves an unused key, never no key.
        write_atomic(self.keys_dir / "current", f"{kid}\n".encode())
        self._private, self._key_id = key, kid
        log.info("created evidence signing key %s", kid)
        return kid

    def _keyring_meta(self) -> dict:
        path = self.keys_dir / "keyring.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EvidenceError(f"{path}: not valid JSON ({exc})") from exc

    def refresh(self) -> None:
        """Nothing to follow: one node's files change only through this object."""

    def rotate(self) -> str:
        """Make a new current key; the old public key stays in the keyring. Returns the new id."""
        self.ensure()
        with self._lock:
            old = self._key_id
            new = self._create_locked()
            meta = self._keyring_meta()
            if old in meta:
                meta[old]["retired"] = utc_iso(timespec="seconds")
            write_atomic(self.keys_dir / "keyring.json", json.dumps(meta, indent=2).encode())
            # A retired private key only adds risk: it must never sign again.
            (self.keys_dir / f"{old}.key").unlink(missing_ok=True)
            log.info("rotated evidence signing key %s -> %s", old, new)
            return new

    def entries(self) -> list[KeyEntry]:
        """Every key of this folder, the current one first, then the retired ones newest
        first (creates nothing; [] when there is no key yet)."""
        current_file = self.keys_dir / "current"
        current = current_file.read_text(encoding="ascii").strip() \
            if current_file.is_file() else ""
        meta = self._keyring_meta()
        out = []
        for kid, key in self.keyring().items():
            m = meta.get(kid) or {}
            out.append(KeyEntry(kid, key, kid == current, str(m.get("created") or ""),
                                "" if kid == current else str(m.get("retired") or "")))
        return [e for e in out if e.current] + sorted(
            (e for e in out if not e.current), key=lambda e: e.retired or e.created,
            reverse=True)

    def keyring(self) -> dict[str, Ed25519PublicKey]:
        """{key_id: public key} of every key this installation has used (creates nothing)."""
        ring: dict[str, Ed25519PublicKey] = {}
        if not self.keys_dir.is_dir():
            return ring
        for path in sorted(self.keys_dir.glob("*.pub.pem")):
            key = load_public_key(path)
            kid = key_id_of(key)
            if path.name != f"{kid}.pub.pem":
                raise EvidenceError(f"{path}: holds key {kid}, but its name says otherwise")
            ring[kid] = key
        return ring
