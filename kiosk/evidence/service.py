"""Wires evidence sealing into the running server: keys, ledger and the seal-on-end hook."""

from __future__ import annotations

import logging
import threading

from kiosk.evidence.keys import EvidenceKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.package import seal_package
from kiosk.utc import utcnow

log = logging.getLogger(__name__)


def evidence_paths(settings):
    base = settings.data_dir
    return base / "keys", base / "ledger.jsonl", base / "evidence"


def make_sealer(services):
    """Return ``seal(session_id)``; creates the signing key on first start."""
    keys_dir, ledger_path, out_dir = evidence_paths(services.settings)
    keys = EvidenceKeys(keys_dir)
    keys.ensure()
    ledger = Ledger(ledger_path, keys=keys)
    services.evidence_keys = keys
    services.ledger = ledger
    lock = threading.Lock()  # one seal at a time: the ledger is a single chain

    def seal(session_id: str) -> None:
        with lock:
            row = services.store.get(session_id)
            if (row is None or row.sealed_at is not None
                    or row.state not in ("finished", "aborted", "failed")):
                return
            result = seal_package(services.store.session_dir(session_id), out_dir, keys, ledger,
                                  mask=services.settings.id_mask, recovered=row.recovered)
            services.store.set(session_id, sealed_at=utcnow(), package_id=result.package_id)
            # Sealed: the full ID number is no longer needed anywhere on disk.
            services.store.forget_id_number(session_id, services.settings.id_mask)
            log.info("sealed evidence package in %.2f s (ledger #%d)",
                     result.seconds, result.ledger_index)

    return seal
