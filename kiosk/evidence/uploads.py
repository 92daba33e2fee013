"""Sealed archives to the object store, in the background, retried until confirmed.

Which archives still have to go is read from the disk, not kept in memory: an archive
``<packages_dir>/<package_id>.tar`` without a receipt ``<receipts_dir>/<package_id>.json`` is
pending. So a restart (or a crash mid-upload) finds every pending upload again at start-up, and
turning the bucket on for an installation that already holds packages uploads those too.

The local archive is the only source of an upload and is never removed here: it stays until
the upload is confirmed (``kiosk.evidence.objectstore.ObjectStore.put_archive`` HEADs the
version it wrote) and after; ``kiosk evidence delete`` refuses an archive without a receipt.

A failed attempt waits ``retry_seconds``, doubling each time up to ``retry_max_seconds``; each
failure is logged as a warning with the engine's reason. A confirmed upload writes its receipt
(bucket, key, version, SHA-256, lock) and a ``stored`` record in the evidence ledger.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk.atomic_files import make_private_dir, write_json_atomic
from kiosk.errors import EvidenceError
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.objectstore import LockMode, LockTerms, StoredObject, lock_terms
from kiosk.evidence.storage import check_package_id
from kiosk.logs import session_context
from kiosk.utc import utc_iso

log = logging.getLogger(__name__)


class ArchiveStore(Protocol):
    """What the uploader needs of the object store (``ObjectStore``)."""

    lock_mode: LockMode

    def put_archive(self, archive: Path, terms: LockTerms) -> StoredObject: ...


def receipt_path(receipts_dir: Path, package_id: str) -> Path:
    return Path(receipts_dir) / f"{check_package_id(package_id)}.json"


def read_receipt(receipts_dir: Path, package_id: str) -> dict | None:
    """The receipt of a confirmed upload, or None when the archive is not (yet) stored."""
    path = receipt_path(receipts_dir, package_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise EvidenceError(f"{path}: not valid JSON ({exc})") from exc


def pending_uploads(packages_dir: Path, receipts_dir: Path) -> list[str]:
    """Package ids whose local archive has no receipt yet, sorted."""
    packages_dir = Path(packages_dir)
    if not packages_dir.is_dir():
        return []
    out = []
    for p in packages_dir.glob("*.tar"):
        pid = p.name.removesuffix(".tar")
        if p.is_file() and not p.is_symlink() and not receipt_path(receipts_dir, pid).exists():
            out.append(pid)
    return sorted(out)


def ledger_hold(ledger: Ledger | None, package_id: str) -> bool | None:
    """The legal hold the ledger's latest ``legal_hold`` record sets, or None if none does."""
    if ledger is None:
        return None
    on = None
    for rec in ledger.records(package_id):
        r = rec.get("record", {})
        if r.get("type") == "legal_hold":
            on = bool(r.get("on"))
    return on


@dataclass
class _Attempts:
    count: int = 0
    next_at: float = 0.0
    last_error: str = ""


class ArchiveUploader:
    """One daemon thread that uploads pending archives (see the module docstring)."""

    def __init__(self, store: ArchiveStore, packages_dir: Path, receipts_dir: Path, *,
                 ledger: Ledger | None = None, retry_seconds: float = 5.0,
                 retry_max_seconds: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if retry_seconds <= 0 or retry_max_seconds < retry_seconds:
            raise ValueError(f"retry_seconds {retry_seconds} must be > 0 and at most "
                             f"retry_max_seconds {retry_max_seconds}")
        self.store = store
        self.packages_dir = Path(packages_dir)
        self.receipts_dir = Path(receipts_dir)
        self.ledger = ledger
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self._clock = clock
        self._pending: dict[str, _Attempts] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> ArchiveUploader:
        """Find every pending archive on disk, then start the thread."""
        make_private_dir(self.receipts_dir)
        found = pending_uploads(self.packages_dir, self.receipts_dir)
        with self._cond:
            for pid in found:
                self._pending.setdefault(pid, _Attempts())
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="evidence-uploader",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
        if found:
            log.info("%d sealed archive(s) waiting for the object store", len(found))
        return self

    def enqueue(self, package_id: str) -> None:
        """Upload ``<packages_dir>/<package_id>.tar`` now (a new seal)."""
        check_package_id(package_id)
        with self._cond:
            self._pending[package_id] = _Attempts()
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (an upload under way finishes or fails first); pending archives
        stay pending on disk for the next start."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def retry_now(self) -> None:
        """Make every pending archive due at once (e.g. after the store came back)."""
        with self._cond:
            for a in self._pending.values():
                a.next_at = 0.0
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending; False when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def status(self) -> dict[str, dict]:
        """Pending package id -> attempts so far and the last failure's reason."""
        with self._cond:
            return {pid: {"attempts": a.count, "last_error": a.last_error}
                    for pid, a in sorted(self._pending.items())}

    # -- the thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                now = self._clock()
                due = sorted(pid for pid, a in self._pending.items() if a.next_at <= now)
                if not due:
                    wake = min((a.next_at for a in self._pending.values()), default=None)
                    self._cond.wait(None if wake is None else max(0.05, wake - now))
                    continue
            for pid in due:
                if self._stop:
                    return
                self._attempt(pid)

    def _attempt(self, package_id: str) -> None:
        with session_context(package_id):
            archive = self.packages_dir / f"{package_id}.tar"
            try:
                if not archive.is_file():
                    log.warning("sealed archive %s.tar is gone before its upload; not "
                                "uploaded", package_id)
                    self._done(package_id)
                    return
                terms = lock_terms(archive, self.store.lock_mode,
                                   ledger_hold(self.ledger, package_id))
                stored = self.store.put_archive(archive, terms)
            except (EvidenceError, OSError, ValueError) as exc:
                self._failed(package_id, str(exc))
                return
            except Exception as exc:  # the thread must outlive any one archive
                log.exception("evidence upload crashed")
                self._failed(package_id, f"{type(exc).__name__}: {exc}")
                return
            receipt = {
                "package_id": package_id, "url": str(stored.location),
                "bucket": stored.location.bucket, "key": stored.location.key,
                "version_id": stored.version_id, "size": stored.size,
                "sha256": stored.sha256, "lock_mode": stored.terms.mode,
                "retain_until": stored.terms.retain_until.isoformat(),
                "legal_hold": stored.terms.legal_hold, "stored_at": utc_iso(),
            }
            try:
                write_json_atomic(receipt_path(self.receipts_dir, package_id), receipt)
            except OSError as exc:
                self._failed(package_id, f"receipt not written: {exc}")
                return
            if self.ledger is not None:
                try:
                    self.ledger.append_record(package_id, {"type": "stored", **{
                        k: receipt[k] for k in ("url", "version_id", "sha256", "lock_mode",
                                                "retain_until", "legal_hold")}})
                except Exception:  # the receipt is the upload's proof; the ledger line is extra
                    log.exception("stored record not appended to the ledger")
            log.info("archive stored in the object store: %s (version %s, %s until %s)",
                     stored.location, stored.version_id, stored.terms.mode,
                     stored.terms.retain_until.date().isoformat())
            self._done(package_id)

    def _failed(self, package_id: str, why: str) -> None:
        with self._cond:
            a = self._pending.setdefault(package_id, _Attempts())
            a.count += 1
            a.last_error = why
            delay = min(self.retry_max_seconds, self.retry_seconds * 2 ** (a.count - 1))
            a.next_at = self._clock() + delay
        log.warning("evidence upload failed (attempt %d), the local archive is kept and the "
                    "upload retried in %.0f s: %s", a.count, delay, why)

    def _done(self, package_id: str) -> None:
        with self._cond:
            self._pending.pop(package_id, None)
            self._cond.notify_all()
