"""Evidence: seal a witness session into a signed BagIt package, keep a ledger, verify offline.

``seal_package`` (package.py) is called by the server at every terminal state;
``verify_package`` (verify.py) and ``kiosk evidence`` / ``kiosk ledger`` (cli.py) check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.evidence.keys import EvidenceKeys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.package import SealResult, mask_id_number, seal_package
from kiosk.evidence.storage import EvidenceStorage, LocalStorage
from kiosk.evidence.verify import VerifyReport, verify_package


@dataclass(frozen=True)
class EvidencePaths:
    """Where one installation keeps its keys, packages and ledger, under ``data_dir``."""

    keys_dir: Path
    packages_dir: Path
    ledger: Path

    @classmethod
    def under(cls, data_dir: Path) -> EvidencePaths:
        data_dir = Path(data_dir)
        # The same places kiosk.evidence.service uses for the running server.
        return cls(keys_dir=data_dir / "keys", packages_dir=data_dir / "evidence",
                   ledger=data_dir / "ledger.jsonl")


__all__ = [
    "EvidenceKeys", "EvidencePaths", "EvidenceStorage", "Ledger", "LocalStorage", "SealResult",
    "VerifyReport", "mask_id_number", "seal_package", "verify_package",
]
