"""Wires evidence sealing into the running server: keys, ledger and the seal-on-end hook."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.atomic_files import is_disk_full
from kiosk.evidence.keys import EvidenceKeys, SigningKeys
from kiosk.evidence.keys_db import DbEvidenceKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.ledger_db import open_ledger
from kiosk.evidence.package import seal_package
from kiosk.store import SessionStore
from kiosk.utc import utcnow

if TYPE_CHECKING:
    from kiosk.evidence.objectstore import ObjectStore
    from kiosk.evidence.uploads import ArchiveUploader

log = logging.getLogger(__name__)


def evidence_paths(settings) -> tuple[Path, Path, Path]:
    """``(keys dir, ledger file, packages dir)`` under the settings' ``data_dir``."""
    base = settings.data_dir
    return base / "keys", base / "ledger.jsonl", base / "evidence"


def _meta_incomplete(session_dir: Path) -> dict | None:
    """The ``incomplete`` note of a folder written from the shared state
    (``kiosk.recovery.seal_lost_from_shared_state``), else None."""
    try:
        meta = json.loads((session_dir / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    note = meta.get("incomplete") if isinstance(meta, dict) else None
    return note if isinstance(note, dict) and note else None


class EvidenceSealer:
    """``seal(session_id)`` seals an ended session; ``keys`` and ``ledger`` are the server's.

    Creates the signing key on first start. Sealing twice, or a session that has not ended,
    is a no-op; a failed seal raises (``kiosk.services.KioskServices.seal`` logs it, and the
    next start tries again).

    ``before_seal(session_dir)`` runs under the seal lock just before a session is packaged
    (only when it will be): the server settles the checks that wait for the end there (the ID
    card's portrait against the live face, ``kiosk.witness.id_card.settle_card_portrait``).
    Its failure is logged and the session is sealed all the same.
    """

    def __init__(self, settings, store: SessionStore,
                 before_seal: Callable[[Path], object] | None = None) -> None:
        keys_dir, ledger_path, self.out_dir = evidence_paths(settings)
        self.settings = settings
        self.store = store
        # Several nodes: one keyring in the shared database (kiosk.evidence.keys_db), seeded
        # with this node's old public keys; one node: the files under keys_dir.
        self.keys: SigningKeys = (
            DbEvidenceKeys(store.engine, settings.evidence_key_passphrase, import_dir=keys_dir)
            if settings.shared_state else EvidenceKeys(keys_dir))
        self.keys.ensure()
        # PostgreSQL: the evidence_ledger table, shared by every node (kiosk.evidence.ledger_db).
        self.ledger: Ledger = open_ledger(settings.db_url, ledger_path, keys=self.keys,
                                          engine=store.engine)
        self._lock = threading.Lock()  # one seal at a time: the ledger is a single chain
        self._before_seal = before_seal
        # evidence_s3_bucket set: every sealed archive also goes to the object store, from a
        # background thread that finds what is still pending on disk at each start.
        self.objects: ObjectStore | None = None
        self.uploader: ArchiveUploader | None = None
        if settings.evidence_s3_bucket:
            # boto3 loads only when a bucket is configured (kiosk.evidence.objectstore).
            from kiosk.evidence.objectstore import ObjectStore
            from kiosk.evidence.uploads import ArchiveUploader  # imports objectstore: boto3

            self.objects = ObjectStore.from_settings(settings)
            assert self.objects is not None
            self.uploader = ArchiveUploader(
                self.objects, self.out_dir, settings.evidence_receipts_dir, ledger=self.ledger,
                retry_seconds=settings.evidence_s3_retry_seconds,
                retry_max_seconds=settings.evidence_s3_retry_max_seconds).start()

    def seal(self, session_id: str, incomplete: dict | None = None) -> None:
        """Seal the ended session ``session_id`` (see the class). ``incomplete``: it is sealed
        knowingly partial (``seal_package``'s argument), and the ledger gets a record
        ``{"type": "incomplete", ...}`` about its package, which the API and the review
        show."""
        store = self.store
        with self._lock:
            row = store.get(session_id)
            if (row is None or row.sealed_at is not None
                    or row.state not in ("finished", "aborted", "failed")):
                return
            entry = self.ledger.find(session_id)  # the package id is the session id
            if entry is not None and (self.out_dir / f"{session_id}.tar").is_file():
                # sealed here, but the row was not told (a full disk, a crash)
                store.set(session_id, sealed_at=utcnow(), package_id=entry["package_id"])
                store.forget_id_number(session_id, self.settings.id_mask)
                log.info("already sealed (ledger): the session is marked sealed")
                return
            self.keys.refresh()  # a rotation made by another node signs from now on
            if incomplete is None:  # written from the shared state, then a crash: still so
                incomplete = _meta_incomplete(store.session_dir(session_id))
            if self._before_seal is not None:
                try:
                    self._before_seal(store.session_dir(session_id))
                except Exception as exc:  # a check left unsettled needs a human; seal anyway
                    if is_disk_full(exc):
                        log.warning("settling the checks before sealing failed: the data "
                                    "disk is full")
                    else:
                        log.exception("settling the checks before sealing failed")
            result = seal_package(store.session_dir(session_id), self.out_dir, self.keys,
                                  self.ledger, mask=self.settings.id_mask,
                                  recovered=row.recovered, incomplete=incomplete)
            if incomplete:
                self.ledger.append_record(result.package_id,
                                          {"type": "incomplete", **incomplete})
            store.set(session_id, sealed_at=utcnow(), package_id=result.package_id)
            # Sealed: the full ID number is no longer needed anywhere on disk.
            store.forget_id_number(session_id, self.settings.id_mask)
            log.info("sealed evidence package in %.2f s (ledger #%d)",
                     result.seconds, result.ledger_index)
        if self.uploader is not None:
            self.uploader.enqueue(result.package_id)

    def seal_supplement(self, session_id: str, package_id: str) -> str | None:
        """Seal what this node holds of session ``session_id`` (its folder: the recording,
        the checks, the full timeline) as a supplement to its package ``package_id``, which
        another node sealed incomplete while this one was lost. The supplement is its own
        package, ``<session id>.supplement`` (a sealed package is never overwritten), in the
        ledger under the same session id, and a ledger record ``{"type": "supplement",
        "package_id": <supplement>}`` about ``package_id`` links the two. Returns the
        supplement's id, or None when it was sealed before (once per session). Raises what
        ``seal_package`` raises."""
        supplement_id = f"{session_id}.supplement"
        with self._lock:
            if self.ledger.find(supplement_id) is not None:
                return None
            self.keys.refresh()
            result = seal_package(self.store.session_dir(session_id), self.out_dir, self.keys,
                                  self.ledger, mask=self.settings.id_mask, recovered=True,
                                  package_id=supplement_id, supplement_of=package_id)
            self.ledger.append_record(package_id, {"type": "supplement",
                                                   "package_id": supplement_id})
            log.info("sealed a supplement to an incomplete package in %.2f s (ledger #%d)",
                     result.seconds, result.ledger_index)
        if self.uploader is not None:
            self.uploader.enqueue(supplement_id)
        return supplement_id

    def close(self) -> None:
        """Stop the uploader, if any (what is pending stays pending on disk)."""
        if self.uploader is not None:
            self.uploader.stop()
