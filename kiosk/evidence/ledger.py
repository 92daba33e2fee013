"""The evidence ledger: an append-only, hash-chained (and signed) JSONL file of sealed packages.

Each line is one entry::

    {"seq": 4, "kind": "package", "package_id": "...", "tagmanifest_sha256": "...",
     "session_id": "...", "sealed_at": "...", "wall": "...", "key_id": "...",
     "prev": "<hash of entry 3>", "hash": "<sha256 of this entry>", "sig": "<base64>"}

``kind`` is ``package`` (a sealed package) or ``record`` (a later fact about a package: a
reviewer decision, a legal hold, a deletion after retention; ``record`` holds it). The chain
uses the timeline's rules (``kiosk.timeline.event_hash`` / ``verify_chain``), so editing,
removing or reordering entries breaks it at a known index. When the ledger is given signing
keys, ``sig`` is an Ed25519 signature over the entry's ``hash`` (it is left out of the hash),
so a rewritten, re-chained ledger is caught too.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tarfile
import threading
from pathlib import Path

from kiosk.atomic_files import FILE_MODE, make_private_dir
from kiosk.errors import EvidenceError
from kiosk.evidence.keys import verify_signature
from kiosk.timeline import GENESIS, event_hash, verify_chain
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)

TAGMANIFEST = "tagmanifest-sha256.txt"


class RecordExists(EvidenceError):
    """``append_record(once=True)``: the package already holds a record of that type."""

    def __init__(self, entry: dict):
        self.entry = entry
        record = entry.get("record") or {}
        super().__init__(f"package {entry.get('package_id')} already holds a "
                         f"{record.get('type')} record (ledger #{entry.get('seq')})")


def _refuse_second(entries: list[dict], package_id: str, record_type: str) -> None:
    """RecordExists with the first ``record_type`` record about ``package_id`` in ``entries``."""
    for e in entries:
        if (e.get("kind") == "record" and e.get("package_id") == package_id
                and (e.get("record") or {}).get("type") == record_type):
            raise RecordExists(e)


class Ledger:
    """Append-only JSONL hash chain over sealed packages and the records about them."""

    def __init__(self, path: Path, keys=None):
        self.path = Path(path)
        self.keys = keys  # an EvidenceKeys, or None for a hash chain without signatures
        self._lock = threading.Lock()

    # -- writing -----------------------------------------------------------------------------
    def append(self, package_id: str, tagmanifest_sha256: str, session_id: str,
               sealed_at: str) -> int:
        """Record a sealed package; returns its index in the ledger."""
        return self._append({
            "kind": "package",
            "package_id": package_id,
            "tagmanifest_sha256": tagmanifest_sha256,
            "session_id": session_id,
            "sealed_at": sealed_at,
        })

    def append_record(self, package_id: str, record: dict, *, once: bool = False) -> int:
        """Record a later fact about a package (decision, legal hold, deletion). ``once``: the
        package may hold one record of this ``type`` only; RecordExists (carrying the earlier
        entry) when it already does. The check and the append are one step under the
        append lock, so two processes cannot both append."""
        if not isinstance(record, dict) or not record.get("type"):
            raise EvidenceError("a ledger record must be a dict with a 'type'")
        return self._append({"kind": "record", "package_id": package_id, "record": record},
                            once_type=record["type"] if once else None)

    def _append(self, body: dict, once_type: str | None = None) -> int:
        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
        with self._lock, os.fdopen(fd, "a+b") as fh:
            # flock serialises appends across processes (server, CLI) on the same ledger.
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                last = self._last_entry(fh)
                if once_type is not None:
                    _refuse_second(self._read()[0], body["package_id"], once_type)
                entry = self._chain(last, body)
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                try:
                    fh.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError:
                    # A full disk mid-line: cut the part written, so the entry is absent,
                    # not torn, for every reader (the caller was told it failed).
                    with contextlib.suppress(OSError):
                        fh.truncate(size)
                        os.fsync(fh.fileno())
                    raise
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return entry["seq"]

    def _chain(self, last: dict | None, body: dict) -> dict:
        """The entry that follows ``last`` (None: the first entry): numbered, chained to
        ``last``'s hash and, with keys, signed. Callers hold the ledger's append lock."""
        entry = {"seq": 0 if last is None else last["seq"] + 1, **body, "wall": utc_iso()}
        if self.keys is not None:
            entry["key_id"] = self.keys.key_id
        entry["prev"] = GENESIS if last is None else last["hash"]
        entry["hash"] = event_hash(entry)
        if self.keys is not None:
            entry["sig"] = base64.b64encode(
                self.keys.sign(entry["hash"].encode("ascii"))).decode("ascii")
        return entry

    def _last_entry(self, fh) -> dict | None:
        """The last complete entry; a torn tail left by a crash is cut off first."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return None
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            fh.seek(start)
            tail = fh.read(size - start)
            if tail.endswith(b"\n"):
                cut = tail.rstrip(b"\n").rfind(b"\n")
            else:
                cut = tail.rfind(b"\n")
            if cut >= 0 or start == 0:
                break
            chunk *= 4
        if not tail.endswith(b"\n"):
            # Torn by a crash mid-append: that append never returned, so drop it.
            keep = start + cut + 1 if cut >= 0 else 0
            log.warning("ledger %s: dropping a torn last line (%d bytes)", self.path, size - keep)
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
            return self._last_entry(fh)
        line = tail[cut + 1:] if cut >= 0 else tail
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise EvidenceError(f"{self.path}: last entry is not valid JSON ({exc})") from exc
        return entry

    @property
    def label(self) -> str:
        """Where the ledger is, as problems name it (here: the file's path)."""
        return str(self.path)

    def _exists(self) -> bool:
        return self.path.exists()

    # -- reading -----------------------------------------------------------------------------
    def entries(self) -> list[dict]:
        """All entries; raises EvidenceError naming the line if one is not JSON."""
        entries, problems = self._read()
        if problems:
            raise EvidenceError("; ".join(problems))
        return entries

    def _read(self) -> tuple[list[dict], list[str]]:
        if not self.path.exists():
            return [], []
        entries, problems = [], []
        with open(self.path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    problems.append(f"{self.path} line {n}: not valid JSON")
        return entries, problems

    def find(self, package_id: str) -> dict | None:
        """The package entry for ``package_id``, or None."""
        for e in self._read()[0]:
            if e.get("kind") == "package" and e.get("package_id") == package_id:
                return e
        return None

    def records(self, package_id: str) -> list[dict]:
        """Record entries (decisions, holds, deletions) about ``package_id``, oldest first."""
        return [e for e in self._read()[0]
                if e.get("kind") == "record" and e.get("package_id") == package_id]

    def first_records(self, record_type: str) -> dict[str, dict]:
        """{package_id: its first record entry of ``record_type``}, from one read."""
        out: dict[str, dict] = {}
        for e in self._read()[0]:
            if (e.get("kind") == "record" and (e.get("record") or {}).get("type") == record_type
                    and isinstance(e.get("package_id"), str)):
                out.setdefault(e["package_id"], e)
        return out

    # -- verifying ---------------------------------------------------------------------------
    def verify(self, packages_dir: Path | None = None, keyring: dict | None = None) -> list[str]:
        """Every problem found: broken chain, bad signature, and (with ``packages_dir``)
        packages missing from the ledger, ledger entries without a package, replaced packages."""
        entries, problems = self._read()
        if not self._exists():
            problems.append(f"{self.label}: ledger file does not exist")
        brk = verify_chain([{k: v for k, v in e.items() if k != "sig"} for e in entries])
        if brk is not None:
            reason = brk.reason.removeprefix(f"event {brk.index}: ").replace("event", "entry")
            problems.append(f"{self.label}: entry {brk.index}: hash chain broken: {reason}")
        if keyring is not None:
            for i, e in enumerate(entries):
                kid = e.get("key_id")
                if "sig" not in e:
                    problems.append(f"{self.label}: entry {i}: not signed")
                elif kid not in keyring:
                    problems.append(f"{self.label}: entry {i}: signed by unknown key {kid}")
                elif not _sig_ok(keyring[kid], e):
                    problems.append(f"{self.label}: entry {i}: signature by key {kid} "
                                    "does not match the entry")
        # A malformed entry may lack its package id: it is reported as package None.
        by_id: dict[str | None, tuple[int, dict]] = {}
        deleted: set[str | None] = set()
        for i, e in enumerate(entries):
            pid = e.get("package_id")
            if e.get("kind") == "package":
                if pid in by_id:
                    problems.append(f"{self.label}: entry {i}: package {pid} already recorded "
                                    f"at entry {by_id[pid][0]}")
                else:
                    by_id[pid] = (i, e)
            elif e.get("kind") == "record" and (e.get("record") or {}).get("type") == "deleted":
                deleted.add(pid)
        if packages_dir is not None:
            found = find_packages(Path(packages_dir))
            for pid, paths in sorted(found.items()):
                if pid not in by_id:
                    problems.append(
                        f"package {pid} ({paths[0][0]}) is not in the ledger "
                        "(its entry was removed, or it was never sealed here)")
                    continue
                i, e = by_id[pid]
                for where, digest in paths:
                    if digest is None:
                        problems.append(f"package {pid} ({where}): no {TAGMANIFEST}")
                    elif digest != e.get("tagmanifest_sha256"):
                        problems.append(
                            f"package {pid} ({where}): {TAGMANIFEST} sha256 {digest[:16]}... "
                            f"differs from ledger entry {i} (package replaced)")
                if pid in deleted:
                    problems.append(f"package {pid} ({paths[0][0]}): still present although "
                                    "the ledger records its deletion")
            for pid, (i, _e) in sorted(by_id.items(), key=lambda kv: kv[1][0]):
                if pid not in found and pid not in deleted:
                    problems.append(f"{self.label}: entry {i}: package {pid} is missing from "
                                    f"{packages_dir} (removed without a deletion record)")
        return problems


def _sig_ok(public_key, entry: dict) -> bool:
    try:
        sig = base64.b64decode(entry["sig"], validate=True)
    except (ValueError, TypeError):
        return False
    return (event_hash({k: v for k, v in entry.items() if k != "sig"}) == entry.get("hash")
            and verify_signature(public_key, sig, str(entry.get("hash")).encode("ascii")))


def find_packages(packages_dir: Path) -> dict[str, list[tuple[str, str | None]]]:
    """{package_id: [(where, tagmanifest sha256 or None)]} for bag folders and .tar archives."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    if not packages_dir.is_dir():
        return found
    for p in sorted(packages_dir.iterdir()):
        if p.name.startswith("."):
            continue  # .tmp-* folders of a seal in progress
        if p.is_dir() and not p.is_symlink() and (p / "bagit.txt").is_file():
            tm = p / TAGMANIFEST
            digest = hashlib.sha256(tm.read_bytes()).hexdigest() if tm.is_file() else None
            found.setdefault(p.name, []).append((str(p), digest))
        elif p.is_file() and p.name.endswith(".tar"):
            pid = p.name[: -len(".tar")]
            found.setdefault(pid, []).append((str(p), _tar_tagmanifest_sha256(p, pid)))
    return found


def _tar_tagmanifest_sha256(archive: Path, package_id: str) -> str | None:
    try:
        with tarfile.open(archive, "r:") as tf:
            member = tf.getmember(f"{package_id}/{TAGMANIFEST}")
            if not member.isfile():
                return None
            fh = tf.extractfile(member)
            return hashlib.sha256(fh.read()).hexdigest() if fh else None
    except (KeyError, tarfile.TarError, OSError):
        return None
