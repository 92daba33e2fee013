"""Sealed bags for reading on any node: the local bag, else the archive from the object store.

In a cluster each node seals onto its own disk, while the balancer sends back-office and
console requests to any node. ``SealedBags.bag(package_id)`` answers the bag folder to read:

1. ``<packages_dir>/<id>``, this node's own bag (``data/`` inside);
2. else ``<cache_dir>/<id>``, unpacked earlier from the object store;
3. else the archive ``<prefix><id>.tar`` is fetched once from the object store (its key comes
   from the package id only), its SHA-256 checked against the one stored with it at upload
   (``kiosk-sha256``), unpacked with ``safe_extract`` (no links, no '..', caps), and fully
   verified (every byte, the signature against the installation's keyring, the timeline) before
   it is moved into the cache. The cache keeps the archive and the bag and is trimmed, least
   recently used first, to ``max_bytes``.

Anything else raises ``BagUnavailable`` saying what is missing (no object store configured, the
archive not uploaded yet, the store unreachable, the archive failing verification): a request
answers 503 with that, never a verdict about the evidence.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.atomic_files import write_atomic
from kiosk.errors import EvidenceError
from kiosk.evidence.storage import check_package_id
from kiosk.evidence.verify import UnsafeArchive, safe_extract, verify_package

log = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 2 * 1024**3
_STAMP = ".verified"  # in a cached bag's parent folder entry: <cache>/<id>.verified
_FETCH_PREFIX = ".fetch-"  # a fetch's working folder: <cache>/.fetch-<id>-<random>/
# A fetch's folder older than this (nothing in it written for an hour) belongs to no live
# fetch: a download writes its archive block by block and fails after the object store's
# read timeout (evidence_s3_timeout_seconds, 30 s) without a byte, and extracting writes too;
# only the verification reads without writing, for seconds. So it was left by a process that
# died mid-fetch (SIGKILL, OOM, power), and is removed when the cache is opened.
STALE_FETCH_SECONDS = 3600.0


class BagUnavailable(EvidenceError):
    """The package is sealed but cannot be read on this node now; ``reason`` is a short code
    (``not_sealed_here``, ``not_in_object_store``, ``object_store_unreachable``,
    ``failed_verification``), the message says what is unavailable."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SealedBags:
    """The bags and archives of sealed packages, for this node's readers.

    ``objects``: an ``ObjectStore`` (or None: only the local bags); ``keyring()``: the
    installation's public keys, ``{key_id: Ed25519PublicKey}``, that a fetched archive must be
    signed with; ``max_bytes``: the cache's cap in bytes (archive plus unpacked bag per
    package; one package larger than the cap is still kept until the next one arrives).
    Thread-safe: one fetch per package at a time, other readers of it wait for that one.
    """

    def __init__(self, packages_dir: Path, cache_dir: Path, objects: Any = None,
                 keyring: Callable[[], dict] = dict,
                 max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.packages_dir = Path(packages_dir)
        self.cache_dir = Path(cache_dir)
        self.objects = objects
        self.keyring = keyring
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self.remove_stale_fetches()

    def remove_stale_fetches(self, older_than: float = STALE_FETCH_SECONDS,
                             now: float | None = None) -> int:
        """Remove the ``.fetch-*`` working folders in the cache that nothing has written to
        for ``older_than`` seconds (left by a process that died mid-fetch; a live fetch's are
        newer: ``STALE_FETCH_SECONDS``); the number removed. ``now``: ``time.time()``.
        Never raises: what cannot be removed is logged and left."""
        now = time.time() if now is None else now
        try:
            leftovers = [p for p in self.cache_dir.iterdir() if p.name.startswith(_FETCH_PREFIX)]
        except OSError:  # no cache folder yet (or unreadable: its reads say so)
            return 0
        removed = 0
        for path in leftovers:
            try:
                if now - _newest_mtime(path) < older_than:
                    continue  # maybe another process's fetch under way
            except OSError:
                continue  # gone meanwhile
            if _remove_tree(path):
                removed += 1
        if removed:
            log.info("evidence cache: removed %d unfinished fetch folder(s) left by an earlier "
                     "process", removed)
        return removed

    # -- where a package is --------------------------------------------------------------
    def local_bag(self, package_id: str) -> Path | None:
        """This node's own bag folder of the package, or None."""
        return _bag_in(self.packages_dir, check_package_id(package_id))

    def cached_bag(self, package_id: str) -> Path | None:
        """The verified bag fetched earlier from the object store, or None."""
        pid = check_package_id(package_id)
        if not (self.cache_dir / f"{pid}{_STAMP}").is_file():
            return None
        bag = _bag_in(self.cache_dir, pid)
        if bag is not None:
            _touch(self.cache_dir / f"{pid}{_STAMP}")
        return bag

    def bag(self, package_id: str) -> Path:
        """The bag folder to read (local, cached, or fetched now). ``EvidenceError`` for a bad
        id; ``BagUnavailable`` when it cannot be read here."""
        pid = check_package_id(package_id)
        found = self.local_bag(pid) or self.cached_bag(pid)
        if found is not None:
            return found
        self._fetch(pid)
        found = self.cached_bag(pid)
        assert found is not None
        return found

    def archive(self, package_id: str) -> Path:
        """The sealed archive (``<id>.tar``) to send: this node's own, or the verified copy
        fetched from the object store. Same errors as ``bag``."""
        pid = check_package_id(package_id)
        own = self.packages_dir / f"{pid}.tar"
        if own.is_file() and not own.is_symlink():
            return own
        if self.cached_bag(pid) is None:
            self._fetch(pid)
        cached = self.cache_dir / f"{pid}.tar"
        if not cached.is_file():  # trimmed in between: fetch again
            self._fetch(pid)
        return cached

    def readable(self, package_id: str) -> bool:
        """True when ``bag`` would answer without fetching (the local or cached bag), or the
        object store holds the archive."""
        pid = check_package_id(package_id)
        if self.local_bag(pid) or self.cached_bag(pid):
            return True
        if self.objects is None:
            return False
        try:
            return bool(self.objects.exists(pid))
        except EvidenceError:
            return False

    # -- fetching ------------------------------------------------------------------------
    def _fetch(self, pid: str) -> None:
        if self.objects is None:
            raise BagUnavailable(
                f"package {pid}: not on this node's disk and no object store is configured "
                "(evidence_s3_bucket): it is readable only on the node that sealed it",
                "not_sealed_here")
        with self._lock:
            one = self._fetching.setdefault(pid, threading.Lock())
        with one:
            try:
                if self.cached_bag(pid) is not None and (self.cache_dir / f"{pid}.tar").is_file():
                    return  # another thread fetched it meanwhile
                self._fetch_locked(pid)
            finally:
                with self._lock:
                    self._fetching.pop(pid, None)

    def _fetch_locked(self, pid: str) -> None:
        objects = self.objects
        loc = objects.location(pid)
        try:
            if not objects.exists(pid):
                raise BagUnavailable(f"package {pid}: not on this node's disk and not yet in "
                                     f"the object store ({loc}); its node uploads it after "
                                     "sealing", "not_in_object_store")
            head = objects.head(loc)
        except BagUnavailable:
            raise
        except EvidenceError as exc:
            raise BagUnavailable(f"package {pid}: not on this node's disk and the object "
                                 f"store is not readable: {exc}",
                                 "object_store_unreachable") from exc
        expected = (head.get("Metadata") or {}).get("kiosk-sha256")
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        work = Path(tempfile.mkdtemp(prefix=f"{_FETCH_PREFIX}{pid}-", dir=self.cache_dir))
        try:
            tar = work / f"{pid}.tar"
            try:
                objects.download(loc, tar, str(head.get("VersionId") or "") or None)
            except EvidenceError as exc:
                raise BagUnavailable(f"package {pid}: the object store is not readable: "
                                     f"{exc}", "object_store_unreachable") from exc
            digest = _sha256(tar)
            if not expected or digest != expected:
                raise BagUnavailable(f"package {pid}: the archive in {loc} has sha256 "
                                     f"{digest}, not the {expected or 'unrecorded'} stored "
                                     "with it at upload", "failed_verification")
            try:
                bag = safe_extract(tar, work / "x")
            except UnsafeArchive as exc:
                raise BagUnavailable(f"package {pid}: the archive in {loc} is unsafe: {exc}",
                                     "failed_verification") from exc
            if bag.name != pid:
                raise BagUnavailable(f"package {pid}: the archive in {loc} holds the package "
                                     f"folder {bag.name!r}", "failed_verification")
            report = verify_package(bag, keyring=self.keyring())
            if not report.ok:
                raise BagUnavailable(f"package {pid}: the archive in {loc} failed "
                                     f"verification: {'; '.join(report.problems[:3])}",
                                     "failed_verification")
            self._trim(_size(work))
            dest = self.cache_dir / pid
            if dest.exists():  # a stale unpacked bag without its stamp
                shutil.rmtree(dest)
            os.replace(bag, dest)
            os.replace(tar, self.cache_dir / f"{pid}.tar")
            # The stamp says "verified": never a torn one (tests/test_atomic_writes.py).
            write_atomic(self.cache_dir / f"{pid}{_STAMP}", (digest + "\n").encode("ascii"))
            log.info("package %s fetched from the object store and verified (%d bytes)",
                     pid, (self.cache_dir / f"{pid}.tar").stat().st_size)
        finally:
            _remove_tree(work)  # whatever failed; a crash's leftovers: remove_stale_fetches

    def _trim(self, incoming: int) -> None:
        """Drop the least recently read cached packages until ``incoming`` more bytes fit."""
        stamps = sorted(self.cache_dir.glob(f"*{_STAMP}"), key=_mtime)
        total = sum(self._cached_size(s.name[:-len(_STAMP)]) for s in stamps)
        for stamp in stamps:
            if total + incoming <= self.max_bytes:
                break
            pid = stamp.name[:-len(_STAMP)]
            total -= self._cached_size(pid)
            stamp.unlink(missing_ok=True)
            shutil.rmtree(self.cache_dir / pid, ignore_errors=True)
            (self.cache_dir / f"{pid}.tar").unlink(missing_ok=True)

    def _cached_size(self, pid: str) -> int:
        return _size(self.cache_dir / pid) + _size(self.cache_dir / f"{pid}.tar")


def _bag_in(folder: Path, pid: str) -> Path | None:
    path = folder / pid
    if path.is_symlink() or not (path / "data").is_dir() or (path / "data").is_symlink():
        return None
    resolved = path.resolve()
    return resolved if resolved.parent == folder.resolve() else None


def _newest_mtime(path: Path) -> float:
    """The latest modification time of ``path`` and everything under it (links not
    followed); OSError when ``path`` itself is gone."""
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


def _remove_tree(path: Path) -> bool:
    """Remove the folder ``path`` (a link or file: just it). An extracted archive may hold
    folders without write permission (kept by ``safe_extract``'s "data" filter), which stop
    ``rmtree`` for a non-root user: they are made writable and the removal tried again.
    True when it is gone; False, with one WARNING naming the folder, when it is not."""
    def writable_and_retry(func, name, _exc_info):
        parent = os.path.dirname(name)
        try:
            os.chmod(parent, 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            func(name)
        except OSError:
            pass  # reported below, once

    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, onerror=writable_and_retry)
    except OSError:
        pass
    if path.exists() or path.is_symlink():
        log.warning("evidence cache: %s could not be removed; delete it while the node is "
                    "stopped", path.name)
        return False
    return True


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _touch(path: Path) -> None:
    try:
        now = time.time()
        os.utime(path, (now, now))
    except OSError:
        pass
